import AkisConfig
import Atomics
import Daemon
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// The daemon assembled from modules: each one's routes on the one server, its metrics at
/// /metrics, its readiness at /readyz, its services in the one group, stopping module by module
/// in reverse order.
@Suite(.timeLimit(.minutes(3))) struct DaemonTests {
    /// What the test modules saw, shared with the test.
    static let journal = Mutex<[String]>([])
    static let ready = ManagedAtomic<Bool>(false)
    static let finish = ManagedAtomic<Bool>(false)
    static let stopFirst = ManagedAtomic<Bool>(false)

    struct FirstSettings: ModuleSettings {
        static let section = "first"
        var greeting = "hello"
        init() {}
        mutating func read(_ section: inout ConfigSection) throws(ConfigError) { greeting = try section.string("greeting", default: greeting) }
        var summary: String { greeting }
    }

    struct First: DaemonModule {
        static let name = "first"
        static var settings: (any ModuleSettings.Type)? { FirstSettings.self }
        let services: [any Service]
        let greeting: String

        init(context: ModuleContext) throws {
            greeting = context.configuration.settings(FirstSettings.self).greeting
            context.metrics.counter("first_things", "Things the first module counted") { 42 }
            context.readiness.add("first") { DaemonTests.ready.load(ordering: .relaxed) ? nil : "waiting for the test" }
            services = [ThreadService(name: "first-thread", stop: { DaemonTests.stopFirst.store(true, ordering: .releasing) }) {
                while !DaemonTests.stopFirst.load(ordering: .acquiring) { sleepBlocking(.microseconds(1_000)) }
                DaemonTests.journal.withLock { $0.append("first stopped") }
            }]
        }

        func addRoutes(to router: Router<DaemonRequestContext>) {
            router.get("/first") { [greeting] _, _ in "\(greeting)\n" }
        }

        var listening: [String] { ["feed test 127.0.0.1:1"] }
    }

    struct Second: DaemonModule {
        static let name = "second"
        let services: [any Service]

        init(context: ModuleContext) throws {
            #expect(context.database == nil)
            services = [
                PeriodicService(name: "second", every: .milliseconds(10), last: {
                    DaemonTests.journal.withLock { $0.append("second stopped") }
                }) {},
                // A source that ends by itself when the test says so, which stops the group.
                ThreadService(name: "trigger", stop: {}) { while !DaemonTests.finish.load(ordering: .acquiring) { sleepBlocking(.microseconds(1_000)) } },
            ]
        }

        func serving(at httpAddress: String) -> [String] { ["second serves at \(httpAddress)"] }
    }

    @Test func modulesPlugIntoOneServerAndOneGroup() async throws {
        let modules: [any DaemonModule.Type] = [First.self, Second.self]
        let configuration = try AkisConfiguration.parse("[http]\naddress = \"127.0.0.1:0\"\n[first]\ngreeting = \"merhaba\"",
                                                        modules: Daemon.settings(modules))
        let readyFile = NSTemporaryDirectory() + "akis-daemon-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: readyFile) }
        let daemon = Daemon(configuration: configuration, logger: Logger(label: "test"), readyFile: readyFile)
        let run = Task { try await daemon.run(modules) }

        try await waitUntil("the ready file") { FileManager.default.fileExists(atPath: readyFile) }
        let lines = try String(contentsOfFile: readyFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "feed test 127.0.0.1:1" && lines.count == 2, "\(lines)")
        let http = String(lines.last!.dropFirst("http ".count))

        #expect(try await httpGet(http, "/first").body == "merhaba\n", "the module's own configuration section")
        #expect(try await httpGet(http, "/healthz") == (200, "ok\n"))
        let notReady = try await httpGet(http, "/readyz")
        #expect(notReady == (503, "first: waiting for the test\n"), "\(notReady)")
        Self.ready.store(true, ordering: .relaxed)
        #expect(try await httpGet(http, "/readyz") == (200, "ready\n"))
        #expect(try await httpGet(http, "/metrics").body.contains("akis_first_things_total 42"))

        // A service that ends stops the group: the second module's services first, then the first's.
        #expect(Self.journal.withLock { $0 }.isEmpty)
        Self.finish.store(true, ordering: .releasing)
        try await value(of: run, within: .seconds(60), "the daemon to stop")
        #expect(Self.journal.withLock { $0 } == ["second stopped", "first stopped"])
    }
}
