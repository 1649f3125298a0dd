import ArgumentParser
import Daemon
import Events
import Foundation
import Ingest
import Kafka
import Logging
import PostgresNIO
import Store
import Synchronization

/// `akis events bench`: how fast the event store takes events inside order-sized transactions,
/// and how fast `audit verify` checks a long chain, on a private PostgreSQL of its own (never a
/// production database: it writes real events into the audit chains).
struct EventsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure event appends in order-sized transactions and audit verification, on a private PostgreSQL.")

    @Option(help: "Transactions to run: each inserts an order row and appends its events.") var transactions = 20_000
    @Option(help: "Events per transaction (an order's change: created and submitted).") var events = 2
    @Option(help: "Concurrent writers.") var writers = 4
    @Option(help: "Events in the chain verified at the end (appended in large transactions first, up to this many).") var verify = 1_000_000
    @Option(help: "Where the private PostgreSQL lives.") var dir = ".akis/bench"
    @Option(help: "Also relay every appended event to this Kafka broker (HOST:PORT) and time it.") var kafka: String?

    func validate() throws {
        guard transactions > 0, events > 0, (1...64).contains(writers), verify >= 0 else {
            throw ValidationError("--transactions and --events must be positive, --writers 1 to 64, --verify at least 0")
        }
    }

    func run() async throws {
        let log: (String) -> Void = { FileHandle.standardError.write(Data("events bench: \($0)\n".utf8)) }
        let pg = try PrivatePostgres.start(directory: "\(dir)/postgres", log: log)
        let admin = try LibpqConnection(conninfo: pg.conninfo)
        try admin.execute("DROP DATABASE IF EXISTS akis_events_bench WITH (FORCE)")
        try admin.execute("CREATE DATABASE akis_events_bench")
        let url = pg.conninfo(database: "akis_events_bench")
        let db = try LibpqConnection(conninfo: url)
        try Migrator(layout: StorageLayout.detect(db), schemas: Daemon.schemas(Serve.modules)).run(on: db)
        try db.execute("CREATE TABLE bench_orders (id uuid PRIMARY KEY, symbol text NOT NULL, quantity bigint NOT NULL)")
        var configuration = try PostgresClient.Configuration(conninfo: url)
        configuration.options.maximumConnections = writers + 2
        let client = PostgresClient(configuration: configuration)
        let logger = Logger(label: "akis-events-bench")
        let store = EventStore()
        let (transactions, events, writers, verify) = (transactions, events, writers, verify)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }

            log("\(transactions) transactions of 1 order row + \(events) events, \(writers) writers")
            let started = Clock.monotonicNanos()
            try await withThrowingTaskGroup(of: Void.self) { writersGroup in
                for w in 0..<writers {
                    writersGroup.addTask {
                        for _ in stride(from: w, to: transactions, by: writers) {
                            let order = UUID()
                            let user = "u-\(w)"
                            let batch = (0..<events).map { i in
                                Event(i == 0 ? .orderCreated : .orderSubmitted, key: user, data: [
                                    ("orderId", .string(order.uuidString.lowercased())), ("userId", .string(user)), ("symbol", .string("AKBNK")),
                                    ("side", .string("BUY")), ("quantity", .integer(1000)), ("price", .price(Price(units: 15_750_000))),
                                    ("orderType", .string("LIMIT")),
                                ])
                            }
                            _ = try await client.withTransaction(logger: logger) { c in
                                try await c.query("INSERT INTO bench_orders VALUES (\(order), 'AKBNK', 1000)", logger: logger)
                                return try await store.append(batch, on: c, logger: logger)
                            }
                        }
                    }
                }
                try await writersGroup.waitForAll()
            }
            let seconds = Double(Clock.monotonicNanos() - started) / 1e9
            print("appends: \(grouped(UInt64(transactions))) transactions, \(grouped(UInt64(transactions * events))) events in "
                + String(format: "%.2f s", seconds) + ": \(grouped(UInt64(Double(transactions) / seconds))) transactions/s, "
                + "\(grouped(UInt64(Double(transactions * events) / seconds))) events/s")

            var total = transactions * events
            if total < verify { log("appending \(verify - total) more events, 1,000 to a transaction, for the verification") }
            while total < verify {
                let n = min(1_000, verify - total)
                let batch = (0..<n).map { i in Event(.orderFilled, key: "u-\(i % 100)", data: [("n", .integer(Int64(total + i)))]) }
                _ = try await client.withTransaction(logger: logger) { c in try await store.append(batch, on: c, logger: logger) }
                total += n
                if total % 100_000 == 0 { log("\(grouped(UInt64(total))) events") }
            }
            let verifyStarted = Clock.monotonicNanos()
            let reports = try await AuditVerification.run(client: client, logger: logger)
            let verified = reports.reduce(0) { $0 + $1.checked }
            let verifySeconds = Double(Clock.monotonicNanos() - verifyStarted) / 1e9
            print("audit verify: \(grouped(UInt64(verified))) events in " + String(format: "%.2f s", verifySeconds)
                + ": \(grouped(UInt64(Double(verified) / verifySeconds))) events/s")

            if let kafka {
                let consumers = EventConsumers(client: client, logger: logger)
                let relay = try KafkaRelay(client: client, brokers: [kafka], logger: logger, appended: consumers.wakeups())
                log("relaying \(grouped(UInt64(verified))) events to Kafka at \(kafka) (librdkafka \(KafkaProducer.libraryVersion))")
                let relayStarted = Clock.monotonicNanos()
                let running = Task { try await relay.run() }
                var reported = 0
                while relay.relayed.load(ordering: .relaxed) < UInt64(verified) {
                    try await Task.sleep(for: .milliseconds(50))
                    let seconds = Int((Clock.monotonicNanos() - relayStarted) / 1_000_000_000)
                    if seconds >= reported + 5 {
                        reported = seconds
                        log("\(grouped(relay.relayed.load(ordering: .relaxed))) relayed after \(seconds) s")
                    }
                    if seconds > 600 { running.cancel(); throw ValidationError("the relay did not finish in 10 minutes") }
                }
                let relaySeconds = Double(Clock.monotonicNanos() - relayStarted) / 1e9
                running.cancel()
                _ = await running.result
                print("relay: \(grouped(UInt64(verified))) events to Kafka in " + String(format: "%.2f s", relaySeconds)
                    + ": \(grouped(UInt64(Double(verified) / relaySeconds))) events/s (delivery reports awaited per round of 10,000)")
            }
        }
        pg.stop()
    }
}
