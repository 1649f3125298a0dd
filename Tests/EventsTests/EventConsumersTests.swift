import Atomics
import Daemon
import Events
import Foundation
import Logging
import PostgresNIO
import Store
import Synchronization
import TestSupport
import Testing

/// The consumer framework's guarantees, with consumers defined here, against the real server.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct EventConsumersTests {
    static let logger = Logger(label: "consumers-test")

    /// Writes each event it handles into `ledger`, in the same transaction; fails on the order ids
    /// in `failing`.
    final class Ledger: EventConsumer {
        let name = "ledger"
        let topics: [Topic] = [.trading]
        let failing: Mutex<Set<String>>

        init(failing: Set<String> = []) { self.failing = Mutex(failing) }

        func handle(_ event: StoredEvent, on connection: PostgresConnection) async throws {
            let order = event.data["orderId"] as? String ?? ""
            if failing.withLock({ $0.contains(order) }) { throw Refusal(order: order) }
            try await connection.query("INSERT INTO ledger (event_id, seq, order_id) VALUES (\(event.id), \(event.sequence), \(order))",
                                       logger: EventConsumersTests.logger)
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        let order: String
        var description: String { "the ledger refuses \(order)" }
    }

    func prepare(_ url: String) throws {
        let db = try LibpqConnection(conninfo: url)
        try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations)]).run(on: db)
        try db.execute("CREATE TABLE ledger (event_id uuid PRIMARY KEY, seq bigint NOT NULL, order_id text NOT NULL)")
    }

    func append(_ range: ClosedRange<Int>, _ client: PostgresClient) async throws {
        let store = EventStore()
        for n in range {
            _ = try await client.withTransaction(logger: Self.logger) { c in
                try await store.append([Event(.orderCreated, key: "u-1", data: [("orderId", .string("o-\(n)"))])], on: c, logger: Self.logger)
            }
        }
    }

    func ledger(_ url: String) throws -> [String] {
        try LibpqConnection(conninfo: url).execute("SELECT order_id FROM ledger ORDER BY seq").rows.map { $0[0]! }
    }

    func fast() -> EventConsumers.Options {
        var o = EventConsumers.Options()
        o.maximumAttempts = 3
        o.retryInitialNanos = 10_000_000
        o.retryMaximumNanos = 40_000_000
        o.pollInterval = .seconds(60)  // so that prompt deliveries prove the NOTIFY wake-up
        return o
    }

    @Test func everyEventIsAppliedOnceInOrderAcrossRestarts() async throws {
        try await withScratchDatabase { url in
            try prepare(url)
            try await withPool(url) { client in
                try await append(1...30, client)
                let first = EventConsumers(client: client, consumers: [Ledger()], options: fast(), logger: Self.logger)
                let running = Task { try await first.run() }
                try await eventually("30 events applied", within: .seconds(60)) { try await offThePool { try ledger(url).count } == 30 }
                // A new event wakes the consumer through NOTIFY (the poll is a minute away).
                try await append(31...31, client)
                try await eventually("the notified event", within: .seconds(20)) { try await offThePool { try ledger(url).count } == 31 }
                running.cancel()
                _ = await running.result

                // Stopped: events pile up; a restart takes them from its committed position. Even
                // with its position set back (a crash between the work and the position cannot
                // happen: they commit together; this forces a redelivery), nothing applies twice.
                try await append(32...40, client)
                try LibpqConnection(conninfo: url).execute("UPDATE event_consumer_positions SET position = 5")
                let metrics = DaemonMetrics()
                let second = EventConsumers(client: client, consumers: [Ledger()], options: fast(), logger: Self.logger, metrics: metrics)
                #expect(second.lag(of: "ledger", in: .trading) == nil, "no pass yet")
                let again = Task { try await second.run() }
                try await eventually("40 events applied", within: .seconds(60)) { try await offThePool { try ledger(url).count } == 40 }
                try await waitUntil("no lag", within: .seconds(20)) { second.lag(of: "ledger", in: .trading) == 0 }
                let exported = String(decoding: metrics.render(), as: UTF8.self)
                #expect(exported.contains(#"akis_events_consumer_lag{consumer="ledger",topic="trading-events"} 0"#), "\(exported)")
                try await Task.sleep(for: .milliseconds(300))
                again.cancel()
                _ = await again.result
                #expect(try ledger(url) == (1...40).map { "o-\($0)" }, "each once, in order")
                #expect(try LibpqConnection(conninfo: url).execute("SELECT position FROM event_consumer_positions").rows == [["40"]])
            }
        }
    }

    @Test func aFailingEventEndsInTheDeadLettersAndRetryReplaysIt() async throws {
        try await withScratchDatabase { url in
            try prepare(url)
            try await withPool(url) { client in
                try await append(1...6, client)
                let consumer = Ledger(failing: ["o-3"])
                let consumers = EventConsumers(client: client, consumers: [consumer], options: fast(), logger: Self.logger)
                let running = Task { try await consumers.run() }
                try await eventually("the others applied past the failing one", within: .seconds(60)) { try await offThePool { try ledger(url).count } == 5 }
                let letters = try await DeadLetters.list(client: client, logger: Self.logger)
                #expect(letters.count == 1)
                #expect(letters.first.map { ($0.consumer, $0.topic, $0.sequence, $0.type, $0.attempts, $0.error) }
                        ?? ("", "", 0, "", 0, "") == ("ledger", "trading-events", 3, "OrderCreated", 3, "the ledger refuses o-3"))
                #expect(consumers.deadLettered.load(ordering: .relaxed) == 1)

                // Still failing: a retry puts it back with its attempts added up.
                #expect(try await DeadLetters.retry(nil, client: client, logger: Self.logger) == 1)
                try await eventually("the retry to fail again", within: .seconds(20)) {
                    try await offThePool { try LibpqConnection(conninfo: url).execute("SELECT attempts, retry_requested FROM event_dead_letters").rows } == [["6", "f"]]
                }
                // Fixed: the retry applies it and the dead letter goes.
                consumer.failing.withLock { $0 = [] }
                #expect(try await DeadLetters.retry([letters[0].id], client: client, logger: Self.logger) == 1)
                try await eventually("the dead letter applied", within: .seconds(20)) { try await offThePool { try ledger(url).count } == 6 }
                #expect(try await DeadLetters.list(client: client, logger: Self.logger).isEmpty)
                #expect(try ledger(url).sorted() == (1...6).map { "o-\($0)" }.sorted())
                running.cancel()
                _ = await running.result
                #expect(try await DeadLetters.drop([999], client: client, logger: Self.logger) == 0)
            }
        }
    }
}
