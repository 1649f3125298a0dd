import Atomics
import Daemon
import Foundation
import Ingest
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Runs the in-process consumers (a service of the group): each reads its topics from its
/// committed positions, in order, woken by `NOTIFY akis_events` (a poll every `pollInterval` is
/// the fallback, and covers a lost LISTEN connection). See `EventConsumer` for the guarantees.
///
/// A handler that throws is retried with exponential backoff and jitter; after `maximumAttempts`
/// the event goes to `event_dead_letters` with the error and the consumer moves on. A database
/// that fails meanwhile is not the handler's fault: the consumer waits and tries the same event
/// again, without counting it. `akis events dlq retry` asks for dead letters to be tried again.
public final class EventConsumers: Service, Sendable, CustomStringConvertible {
    public struct Options: Sendable {
        public var maximumAttempts = 5
        public var retryInitialNanos: Int64 = 200_000_000
        public var retryMaximumNanos: Int64 = 10_000_000_000
        public var pollInterval: Duration = .seconds(5)
        public var batch = 500
        public init() {}
    }

    /// The consumers, fixed once the service runs.
    public var consumers: [any EventConsumer] { registered.withLock { $0.consumers } }
    private let registered: Mutex<(consumers: [any EventConsumer], running: Bool)>
    /// Events applied, and moved to the dead letters, over all consumers.
    public let applied = ManagedAtomic<UInt64>(0)
    public let deadLettered = ManagedAtomic<UInt64>(0)
    private let client: PostgresClient
    private let options: Options
    private let logger: Logger
    private let wakes = Mutex<[AsyncStream<Void>.Continuation]>([])
    /// Per consumer and topic: events appended that it has not handled, as of its last pass.
    private let lags = Mutex<[String: Int64]>([:])
    private let metrics: DaemonMetrics?

    /// - Parameter metrics: where each registered consumer's lag per topic is exported
    ///   (`akis_events_consumer_lag{consumer,topic}`).
    public init(client: PostgresClient, consumers: [any EventConsumer] = [], options: Options = Options(), logger: Logger,
                metrics: DaemonMetrics? = nil) {
        self.client = client
        self.options = options
        self.logger = logger
        self.metrics = metrics
        registered = Mutex(([], false))
        for consumer in consumers { register(consumer) }
    }

    /// Adds a consumer (a module does, while it is built); before the service runs.
    public func register(_ consumer: any EventConsumer) {
        registered.withLock { state in
            precondition(!state.running, "consumers are registered before the service runs")
            precondition(!state.consumers.contains { $0.name == consumer.name }, "a consumer named \(consumer.name) is registered already")
            state.consumers.append(consumer)
        }
        for topic in consumer.topics {
            metrics?.gauge("events_consumer_lag", "Events appended that an in-process consumer has not handled yet, as of its last pass",
                           labels: [("consumer", consumer.name), ("topic", topic.rawValue)]) { [self] in Double(lag(of: consumer.name, in: topic) ?? 0) }
        }
    }

    /// Events of `topic` appended that `consumer` has not handled, as of its last pass (nil before one).
    public func lag(of consumer: String, in topic: Topic) -> Int64? {
        lags.withLock { $0["\(consumer)/\(topic.rawValue)"] }
    }

    public var description: String { "event consumers" }

    /// A stream that yields when events were appended (or at the poll), for a reader of the store
    /// that is not an `EventConsumer` (the Kafka relay). Taken before the service runs.
    public func wakeups() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        registered.withLock { state in
            precondition(!state.running, "wake-ups are taken before the service runs")
            wakes.withLock { $0.append(continuation) }
        }
        return stream
    }

    public func run() async throws {
        let consumers = registered.withLock { state in
            state.running = true
            return state.consumers
        }
        guard !consumers.isEmpty || !wakes.withLock({ $0.isEmpty }) else { return try await gracefulShutdown() }
        let streams = consumers.map { _ in AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1)) }
        wakes.withLock { $0 += streams.map(\.continuation) }
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.listen() } }
            for (i, consumer) in consumers.enumerated() {
                group.addTask { await cancelWhenGracefulShutdown { await self.loop(consumer, wake: streams[i].stream) } }
            }
            // The poll: a wake-up every pollInterval whatever LISTEN does.
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while (try? await Task.sleep(for: self.options.pollInterval)) != nil { self.wakeAll() }
                }
            }
        }
        for w in wakes.withLock({ $0 }) { w.finish() }
    }

    /// Wakes every consumer (a new event, or dead letters to retry).
    public func wakeAll() {
        for w in wakes.withLock({ $0 }) { w.yield() }
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: "akis_events") { notifications in
                        self.wakeAll()  // what came while not listening
                        for try await _ in notifications { self.wakeAll() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("events: LISTEN akis_events failed (\(error)); polling until it is back")
            }
            try? await Task.sleep(for: options.pollInterval)
        }
    }

    private func loop(_ consumer: any EventConsumer, wake: AsyncStream<Void>) async {
        await WakeLoop.run(wakeups: wake, logger: logger, initialBackoffNanos: 100_000_000,
                           failing: { "events: consumer \(consumer.name) waits for the database (\($0))" },
                           recovered: "events: consumer \(consumer.name) runs again") { try await drain(consumer) }
    }

    /// Dead letters asked to be retried, then everything new in each topic, until caught up.
    func drain(_ consumer: any EventConsumer) async throws {
        for letter in try await retryRequested(consumer) {
            try await deliver(letter.event, to: consumer, deadLetter: letter.id)
        }
        for topic in consumer.topics {
            // Where the consumer stands once caught up: each delivered event moves its position to it.
            var reached: Int64 = 0
            while true {
                let position = try await self.position(of: consumer, in: topic)
                reached = position
                let rows = try await client.query("""
                    SELECT seq, event_id, event_type, partition_key, envelope FROM event_store
                    WHERE topic = \(topic.rawValue) AND seq > \(position) ORDER BY seq LIMIT \(options.batch)
                    """, logger: logger)
                var events: [StoredEvent] = []
                for try await (seq, id, type, key, envelope) in rows.decode((Int64, UUID, String, String, ByteBuffer).self) {
                    events.append(StoredEvent(topic: topic, sequence: seq, id: id, type: type, key: key, envelope: Array(envelope.readableBytesView)))
                }
                for event in events { try await deliver(event, to: consumer, deadLetter: nil) }
                reached = max(reached, events.last?.sequence ?? reached)
                if events.count < options.batch { break }
            }
            let heads = try await client.query("SELECT head_seq FROM event_chain WHERE topic = \(topic.rawValue)", logger: logger)
            var head: Int64 = 0
            for try await h in heads.decode(Int64.self) { head = h }
            lags.withLock { $0["\(consumer.name)/\(topic.rawValue)"] = max(0, head - reached) }
        }
    }

    private func position(of consumer: any EventConsumer, in topic: Topic) async throws -> Int64 {
        try await Self.position(of: consumer.name, in: topic, client: client, logger: logger)
    }

    /// The committed position of the reader `name` (a consumer, the relay) in `topic`: the last
    /// event it is done with; 0, and a row for it, the first time.
    static func position(of name: String, in topic: Topic, client: PostgresClient, logger: Logger) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO event_consumer_positions (consumer, topic) VALUES (\(name), \(topic.rawValue))
            ON CONFLICT (consumer, topic) DO UPDATE SET consumer = excluded.consumer
            RETURNING position
            """, logger: logger)
        for try await position in rows.decode(Int64.self) { return position }
        return 0
    }

    private struct HandlerFailure: Error { let error: any Error }

    /// Applies `event` (or skips it if applied before) and moves the position past it, in one
    /// transaction; retries a failing handler, then moves the event to the dead letters.
    private func deliver(_ event: StoredEvent, to consumer: any EventConsumer, deadLetter: Int64?) async throws {
        var backoff = ReconnectBackoff(initialNanos: options.retryInitialNanos, maximumNanos: options.retryMaximumNanos)
        var attempt = 0
        let logger = logger
        while true {
            attempt += 1
            do {
                try await client.withTransaction(logger: logger) { c in
                    let marked = try await c.query("""
                        INSERT INTO event_consumer_applied (consumer, event_id) VALUES (\(consumer.name), \(event.id))
                        ON CONFLICT DO NOTHING RETURNING 1
                        """, logger: logger)
                    var first = false
                    for try await _ in marked.decode(Int.self) { first = true }
                    if first {
                        do { try await consumer.handle(event, on: c) } catch { throw HandlerFailure(error: error) }
                    }
                    if let deadLetter {
                        try await c.query("DELETE FROM event_dead_letters WHERE id = \(deadLetter)", logger: logger)
                    } else {
                        try await c.query("""
                            UPDATE event_consumer_positions SET position = greatest(position, \(event.sequence)), updated_at = now()
                            WHERE consumer = \(consumer.name) AND topic = \(event.topic.rawValue)
                            """, logger: logger)
                    }
                }
                applied.wrappingIncrement(ordering: .relaxed)
                return
            } catch let error as PostgresTransactionError where error.closureError is HandlerFailure {
                let failure = (error.closureError as! HandlerFailure).error
                if attempt < options.maximumAttempts {
                    try await Task.sleep(for: .nanoseconds(backoff.nextDelay(unit: Double.random(in: 0..<1))))
                    continue
                }
                try await bury(event, of: consumer, attempts: attempt, error: "\(failure)", deadLetter: deadLetter)
                return
            }
        }
    }

    private func bury(_ event: StoredEvent, of consumer: any EventConsumer, attempts: Int, error: String, deadLetter: Int64?) async throws {
        let logger = logger
        try await client.withTransaction(logger: logger) { c in
            try await c.query("""
                INSERT INTO event_dead_letters (consumer, topic, seq, event_id, event_type, attempts, error)
                VALUES (\(consumer.name), \(event.topic.rawValue), \(event.sequence), \(event.id), \(event.type), \(attempts), \(error))
                ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = event_dead_letters.attempts + excluded.attempts,
                    error = excluded.error, failed_at = now(), retry_requested = false
                """, logger: logger)
            if deadLetter == nil {
                try await c.query("""
                    UPDATE event_consumer_positions SET position = greatest(position, \(event.sequence)), updated_at = now()
                    WHERE consumer = \(consumer.name) AND topic = \(event.topic.rawValue)
                    """, logger: logger)
            }
        }
        deadLettered.wrappingIncrement(ordering: .relaxed)
        logger.info("events: consumer \(consumer.name) gave up on \(event.type) \(event.topic.rawValue) #\(event.sequence) after \(attempts) attempts: \(error); it is in the dead letters")
    }

    private func retryRequested(_ consumer: any EventConsumer) async throws -> [(id: Int64, event: StoredEvent)] {
        let rows = try await client.query("""
            SELECT d.id, s.topic, s.seq, s.event_id, s.event_type, s.partition_key, s.envelope
            FROM event_dead_letters d JOIN event_store s ON s.event_id = d.event_id
            WHERE d.consumer = \(consumer.name) AND d.retry_requested ORDER BY d.id
            """, logger: logger)
        var out: [(Int64, StoredEvent)] = []
        for try await (id, topic, seq, eventID, type, key, envelope) in rows.decode((Int64, String, Int64, UUID, String, String, ByteBuffer).self) {
            guard let t = Topic(rawValue: topic) else { continue }
            out.append((id, StoredEvent(topic: t, sequence: seq, id: eventID, type: type, key: key, envelope: Array(envelope.readableBytesView))))
        }
        return out
    }
}
