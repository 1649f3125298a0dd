import Atomics
import Ingest
import Kafka
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes the event store to Kafka (a service of the events module, when `[kafka] brokers` is
/// set): each topic's events in order to the Kafka topic of the same name, keyed by their
/// partition key, the envelope as the value, through an idempotent producer.
///
/// It works in rounds: read up to `batch` events after each topic's position, queue them all,
/// wait for every delivery report, then move each topic's position (`event_consumer_positions`,
/// consumer `kafka-relay`) to the end of its longest delivered prefix. A crash anywhere in
/// between sends part of a round again (at least once: consumers dedupe by `eventId`), and never
/// loses one. A round starts only when the last one is fully reported, and the producer keeps
/// each partition's order through its retries, so a key's events arrive in order.
public final class KafkaRelay: Service, Sendable, CustomStringConvertible {
    public static let consumerName = "kafka-relay"

    public struct Options: Sendable {
        public var batch = 10_000
        public var deliveryTimeoutNanos: Int64 = 30_000_000_000
        /// The fallback wake-up, besides `NOTIFY akis_events`.
        public var pollInterval: Duration = .seconds(1)
        public var compression = KafkaSettings.Compression.lz4
        public init() {}
    }

    /// Events delivered to Kafka (acknowledged by the brokers).
    public let relayed = ManagedAtomic<UInt64>(0)
    /// Per topic: events in the store the relay has not delivered yet, as of its last round.
    public let lag: [Topic: ManagedAtomic<Int64>] = Dictionary(uniqueKeysWithValues: Topic.allCases.map { ($0, ManagedAtomic<Int64>(0)) })

    private let client: PostgresClient
    private let producer: KafkaProducer
    private let reports: Reports
    /// Each topic's position as the relay last read or moved it: it is their only writer, so an
    /// idle round (one a second) reads the chain heads and writes nothing.
    private let positions = Mutex<[Topic: Int64]>([:])
    private let options: Options
    private let logger: Logger
    private let appended: AsyncStream<Void>

    /// - Parameter appended: yields when events were appended (`EventConsumers.wakeups()`).
    public init(client: PostgresClient, brokers: [String], options: Options = Options(), logger: Logger,
                appended: AsyncStream<Void>) throws(KafkaError) {
        self.client = client
        self.options = options
        self.logger = logger
        self.appended = appended
        let reports = Reports()
        self.reports = reports
        let timeout = "\(max(1, options.deliveryTimeoutNanos / 1_000_000))"
        producer = try KafkaProducer(brokers: brokers.joined(separator: ","), topics: Topic.allCases.map(\.rawValue),
                                     properties: [("message.timeout.ms", timeout), ("compression.codec", options.compression.rawValue)], log: { [logger] in logger.info("\($0)") }) { token, error in
            reports.record(token, error)
        }
    }

    public var description: String { "kafka relay" }

    public func run() async throws {
        logger.info("events: relaying to Kafka with librdkafka \(KafkaProducer.libraryVersion)")
        let (wake, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let appended = appended
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { for await _ in appended { wakeUp.yield() } } }
            // The poll: a wake-up every pollInterval whatever NOTIFY does.
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while (try? await Task.sleep(for: self.options.pollInterval)) != nil { wakeUp.yield() }
                }
            }
            group.addTask { await cancelWhenGracefulShutdown { await self.loop(wake) } }
        }
        // What is queued goes out before the process does.
        _ = try? await NIOThreadPool.singleton.runIfActive { [producer] in producer.flush(timeoutMilliseconds: 5_000) }
    }

    private func loop(_ wake: AsyncStream<Void>) async {
        await WakeLoop.run(wakeups: wake, logger: logger, initialBackoffNanos: 200_000_000,
                           failing: { "events: the Kafka relay is held up (\($0)); it tries again from its position" },
                           recovered: "events: the Kafka relay delivers again") { while try await round() {} }
    }

    /// One round over every topic; true when some topic had a full batch (more may be waiting).
    func round() async throws -> Bool {
        var pending: [(topic: Topic, events: [(seq: Int64, key: String, envelope: ByteBuffer)], firstToken: UInt64)] = []
        var heads: [String: Int64] = [:]
        for try await (topic, head) in try await client.query("SELECT topic, head_seq FROM event_chain", logger: logger).decode((String, Int64).self) {
            heads[topic] = head
        }
        for topic in Topic.allCases {
            let position = try await position(in: topic)
            lag[topic]!.store(max(0, (heads[topic.rawValue] ?? 0) - position), ordering: .relaxed)
            guard (heads[topic.rawValue] ?? 0) > position else { continue }
            let rows = try await client.query("""
                SELECT seq, partition_key, envelope FROM event_store
                WHERE topic = \(topic.rawValue) AND seq > \(position) ORDER BY seq LIMIT \(options.batch)
                """, logger: logger)
            var events: [(seq: Int64, key: String, envelope: ByteBuffer)] = []
            for try await row in rows.decode((Int64, String, ByteBuffer).self) { events.append(row) }
            if !events.isEmpty { pending.append((topic, events, 0)) }
        }
        guard !pending.isEmpty else { return false }

        var token = reports.begin()
        for i in pending.indices {
            pending[i].firstToken = token
            for event in pending[i].events {
                let key = Array(event.key.utf8)
                while try event.envelope.withUnsafeReadableBytes({ value in
                    try key.withUnsafeBytes { key in try producer.produce(topic: pending[i].topic.rawValue, key: key, value: value, token: token) }
                }) == .queueFull {
                    // The local queue is full: let deliveries drain it (off the cooperative pool).
                    _ = try await NIOThreadPool.singleton.runIfActive { [producer] in producer.poll(timeoutMilliseconds: 100) }
                }
                token += 1
            }
        }
        let waitMilliseconds = Int32(clamping: options.deliveryTimeoutNanos / 1_000_000 + 10_000)
        let flushed = try await NIOThreadPool.singleton.runIfActive { [producer] in producer.flush(timeoutMilliseconds: waitMilliseconds) }
        let failures = reports.end()

        var full = false
        var firstFailure: String?
        for entry in pending {
            // The delivered prefix: up to the first message that failed (or is still unreported).
            var delivered = 0
            for n in entry.events.indices {
                let t = entry.firstToken + UInt64(n)
                if let error = failures[t] { firstFailure = firstFailure ?? "\(entry.topic.rawValue) #\(entry.events[n].seq): \(error)"; break }
                if !flushed && !reports.acknowledged(t) { break }
                delivered += 1
            }
            guard delivered > 0 else { continue }
            let last = entry.events[delivered - 1].seq
            // Counted once delivered (before the position says so, which may fail and repeat them).
            relayed.wrappingIncrement(by: UInt64(delivered), ordering: .relaxed)
            lag[entry.topic]!.store(max(0, (heads[entry.topic.rawValue] ?? 0) - last), ordering: .relaxed)
            try await client.query("""
                UPDATE event_consumer_positions SET position = greatest(position, \(last)), updated_at = now()
                WHERE consumer = \(Self.consumerName) AND topic = \(entry.topic.rawValue)
                """, logger: logger)
            positions.withLock { $0[entry.topic] = max($0[entry.topic] ?? 0, last) }
            if entry.events.count == options.batch { full = true }
        }
        if let firstFailure { throw KafkaError("a delivery failed: \(firstFailure)") }
        if !flushed { throw KafkaError("delivery reports are still outstanding after \(waitMilliseconds) ms") }
        return full
    }

    private func position(in topic: Topic) async throws -> Int64 {
        if let known = positions.withLock({ $0[topic] }) { return known }
        let read = try await EventConsumers.position(of: Self.consumerName, in: topic, client: client, logger: logger)
        positions.withLock { $0[topic] = read }
        return read
    }

    /// The round's delivery reports, written by librdkafka's callback on the flushing thread.
    private final class Reports: Sendable {
        private let state = Mutex<(from: UInt64, failed: [UInt64: String], acknowledged: Set<UInt64>)>((0, [:], []))

        /// Starts a round; returns its first token. Each round's tokens start 2^32 above the last
        /// one's, and reports of earlier rounds (which ended unreported) are ignored.
        func begin() -> UInt64 {
            state.withLock { s in
                s.from += 1 << 32
                s.failed = [:]
                s.acknowledged = []
                return s.from
            }
        }

        func record(_ token: UInt64, _ error: KafkaError?) {
            state.withLock { s in
                guard token >= s.from else { return }
                if let error { s.failed[token] = "\(error)" } else { s.acknowledged.insert(token) }
            }
        }

        func acknowledged(_ token: UInt64) -> Bool { state.withLock { $0.acknowledged.contains(token) } }

        /// Ends the round: the tokens that failed, with their errors.
        func end() -> [UInt64: String] { state.withLock { $0.failed } }
    }
}
