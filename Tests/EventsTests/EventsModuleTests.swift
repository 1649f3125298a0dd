import AkisConfig
import Daemon
import Events
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Store
import Synchronization
import TestSupport
import Testing

/// A module assembled after the events module appends its events in its own transactions and
/// registers a consumer, through the parts the events module offers.
@Suite(.offThePool, .serialized, .timeLimit(.minutes(3))) struct EventsModuleTests {
    static let stop = Mutex(false)

    struct NotesModule: DaemonModule {
        static let name = "notes"
        static var migrations: [Migration] {
            [Migration(version: 1, name: "notes", sql: { _ in "CREATE TABLE notes (id uuid PRIMARY KEY); CREATE TABLE noted (event_id uuid PRIMARY KEY)" })]
        }
        let store: EventStore
        let client: PostgresClient
        let services: [any Service]

        struct Noted: EventConsumer {
            let name = "noted"
            let topics: [Topic] = [.user]
            func handle(_ event: StoredEvent, on connection: PostgresConnection) async throws {
                try await connection.query("INSERT INTO noted VALUES (\(event.id))", logger: Logger(label: "noted"))
            }
        }

        init(context: ModuleContext) throws {
            store = try context.shared.take(EventStore.self, for: Self.name)
            try context.shared.take(EventConsumers.self, for: Self.name).register(Noted())
            client = context.database!.client
            // A source that ends when the test says so, which stops the daemon.
            services = [ThreadService(name: "notes-stop", stop: {}) { while !EventsModuleTests.stop.withLock({ $0 }) { sleepBlocking(.microseconds(1_000)) } }]
        }

        func addRoutes(to router: Router<DaemonRequestContext>) {
            router.get("/note") { [store, client] _, _ -> String in
                let id = UUID()
                let logger = Logger(label: "notes")
                try await client.withTransaction(logger: logger) { c in
                    try await c.query("INSERT INTO notes VALUES (\(id))", logger: logger)
                    try await store.append([Event(.userProfileUpdated, key: "u-1", data: [("note", .string(id.uuidString))])], on: c, logger: logger)
                }
                return "noted\n"
            }
        }
    }

    @Test func aLaterModuleAppendsAndConsumesThroughTheEventsModule() async throws {
        try await withScratchDatabase { url in
            let modules: [any DaemonModule.Type] = [EventsModule.self, NotesModule.self]
            let configuration = try AkisConfiguration.parse("[http]\naddress = \"127.0.0.1:0\"\n[database]\nurl = \"\(url)\"", modules: [])
            let readyFile = NSTemporaryDirectory() + "akis-events-test-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: readyFile) }
            Self.stop.withLock { $0 = false }
            let run = Task { try await Daemon(configuration: configuration, logger: Logger(label: "test"), readyFile: readyFile).run(modules) }
            try await waitUntil("the ready file", within: .seconds(60)) { FileManager.default.fileExists(atPath: readyFile) }
            let http = String(try String(contentsOfFile: readyFile, encoding: .utf8).split(separator: "\n").last!.dropFirst("http ".count))
            for _ in 0..<3 { #expect(try await httpGet(http, "/note") == (200, "noted\n")) }
            let db = try LibpqConnection(conninfo: url)
            try await eventually("the consumer to apply the three events", within: .seconds(60)) {
                try await offThePool { try LibpqConnection(conninfo: url).execute("SELECT count(*) FROM noted").rows } == [["3"]]
            }
            // The consumer counts an event once its transaction has committed, a moment after the
            // row is visible.
            var metrics = ""
            try await eventually("the consumer to count the three events", within: .seconds(30)) {
                metrics = try await httpGet(http, "/metrics").body
                return metrics.contains("akis_events_consumed_total 3")
            }
            // Three notes, and the session's phase the events module recorded at start (TradingSessionChanged).
            #expect(metrics.contains("akis_events_appended_total 4") && metrics.contains("akis_events_consumed_total 3"), "\(metrics)")
            #expect(try db.execute("SELECT count(*) FROM event_store WHERE event_type = 'TradingSessionChanged'").rows == [["1"]])
            #expect(try db.execute("SELECT module, version FROM akis_schema_migrations ORDER BY 1, 2").rows.map { $0[0]! }
                    == Array(repeating: "events", count: EventsModule.migrations.count) + ["notes"])
            Self.stop.withLock { $0 = true }
            try await value(of: run, within: .seconds(60), "the daemon to stop")
        }
    }

    @Test func aModuleWithoutThePartItNeedsIsRefusedClearly() async throws {
        try await withScratchDatabase { url in
            let configuration = try AkisConfiguration.parse("[http]\naddress = \"127.0.0.1:0\"\n[database]\nurl = \"\(url)\"", modules: [])
            await #expect {
                try await Daemon(configuration: configuration, logger: Logger(label: "test")).run([NotesModule.self])
            } throws: { "\($0)" == "the notes module needs EventStore, which no module assembled before it offers" }
        }
    }
}
