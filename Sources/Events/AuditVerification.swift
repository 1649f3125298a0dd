import Logging
import NIOCore
import PostgresNIO

/// `akis audit verify`: reads each topic's events in sequence order (streamed, not loaded whole)
/// and checks every link of its chain, from the kept checkpoint to the head.
public enum AuditVerification {
    public struct TopicReport: Sendable, Equatable {
        public var topic: Topic
        public var checked: Int
        /// Where verification started (0: the genesis; otherwise the last event retention removed).
        public var after: Int64
        public var head: Int64
        public init(topic: Topic, checked: Int, after: Int64, head: Int64) {
            self.topic = topic
            self.checked = checked
            self.after = after
            self.head = head
        }
    }

    /// Verifies `topics`; throws `AuditChain.BrokenLink` (with the topic) at the first broken one.
    public static func run(client: PostgresClient, topics: [Topic] = Topic.allCases, logger: Logger,
                           progress: @Sendable (Topic, Int) -> Void = { _, _ in }) async throws -> [TopicReport] {
        var reports: [TopicReport] = []
        for topic in topics {
            let chain = try await client.query(
                "SELECT checkpoint_seq, checkpoint_hash, head_seq FROM event_chain WHERE topic = \(topic.rawValue)", logger: logger)
            var found: (Int64, ByteBuffer, Int64)?
            for try await row in chain.decode((Int64, ByteBuffer, Int64).self) { found = row }
            guard let (checkpoint, checkpointHash, head) = found else { throw EventStoreError("the events schema has no chain for \(topic.rawValue)") }
            var verifier = AuditChain.Verifier(after: (checkpoint, Array(checkpointHash.readableBytesView)))
            let rows = try await client.query(
                "SELECT seq, envelope, hash FROM event_store WHERE topic = \(topic.rawValue) AND seq > \(checkpoint) ORDER BY seq", logger: logger)
            do {
                for try await (sequence, envelope, hash) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
                    try verifier.check(sequence: sequence, envelope: Array(envelope.readableBytesView), hash: Array(hash.readableBytesView))
                    if verifier.checked % 100_000 == 0 { progress(topic, verifier.checked) }
                }
                let last = (verifier.expected ?? checkpoint + 1) - 1
                if last < head {
                    throw AuditChain.BrokenLink(sequence: last + 1, reason: "events \(last + 1)...\(head) are missing (the chain's head is at \(head))")
                }
                if last > head {
                    throw AuditChain.BrokenLink(sequence: head + 1, reason: "events after the chain's head (\(head)) were added outside the event store")
                }
            } catch let broken as AuditChain.BrokenLink {
                throw TopicBrokenLink(topic: topic, link: broken)
            }
            reports.append(TopicReport(topic: topic, checked: verifier.checked, after: checkpoint, head: head))
        }
        return reports
    }

    /// A broken link, with the topic whose chain it is in.
    public struct TopicBrokenLink: Error, Equatable, CustomStringConvertible {
        public let topic: Topic
        public let link: AuditChain.BrokenLink
        public var description: String { "\(topic.rawValue): \(link)" }
    }
}
