import Atomics
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The event store: the outbox every module writes its events to, in the same transaction as the
/// change they describe, so the two commit together or not at all.
///
/// `append` takes the caller's open transaction. For each topic the events touch (in topic order,
/// so two transactions never wait on each other crosswise) it locks the topic's chain head, chains
/// the events after it and moves the head; the lock is held until the caller commits, so a topic's
/// sequence numbers follow commit order, which is what the consumers and the relay read by. A
/// `NOTIFY akis_events` goes out with the commit.
public final class EventStore: Sendable {
    /// Events appended (committed or not: the caller decides).
    public let appended = ManagedAtomic<UInt64>(0)

    public init() {}

    /// Appends `events` inside the transaction open on `connection`; returns each one's topic
    /// and sequence number.
    @discardableResult
    public func append(_ events: [Event], on connection: PostgresConnection, logger: Logger) async throws -> [(topic: Topic, sequence: Int64)] {
        guard !events.isEmpty else { return [] }
        var placed = [(topic: Topic, sequence: Int64)](repeating: (.user, 0), count: events.count)
        let byTopic = Dictionary(grouping: events.indices, by: { events[$0].type.topic })
        for topic in byTopic.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            let rows = try await connection.query(
                "SELECT head_seq, head_hash FROM event_chain WHERE topic = \(topic.rawValue) FOR UPDATE", logger: logger)
            var head: (Int64, ByteBuffer)?
            for try await row in rows.decode((Int64, ByteBuffer).self) { head = row }
            guard var (sequence, hashBuffer) = head else { throw EventStoreError("the events schema has no chain for \(topic.rawValue)") }
            var previous = Array(hashBuffer.readableBytesView)
            for index in byTopic[topic]! {
                let event = events[index]
                sequence += 1
                let envelope = event.envelope
                let hash = AuditChain.link(previous: previous, sequence: sequence, envelope: envelope)
                try await connection.query("""
                    INSERT INTO event_store (topic, seq, event_id, event_type, partition_key, occurred_at, envelope, hash)
                    VALUES (\(topic.rawValue), \(sequence), \(event.id), \(event.type.rawValue), \(event.key),
                            TIMESTAMPTZ 'epoch' + \(event.time / 1_000) * INTERVAL '1 microsecond', \(ByteBuffer(bytes: envelope)), \(ByteBuffer(bytes: hash)))
                    """, logger: logger)
                placed[index] = (topic, sequence)
                previous = hash
            }
            hashBuffer = ByteBuffer(bytes: previous)
            try await connection.query(
                "UPDATE event_chain SET head_seq = \(sequence), head_hash = \(hashBuffer) WHERE topic = \(topic.rawValue)", logger: logger)
            try await connection.query("SELECT pg_notify('akis_events', \(topic.rawValue))", logger: logger)
        }
        appended.wrappingIncrement(by: UInt64(events.count), ordering: .relaxed)
        return placed
    }
}

public struct EventStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
