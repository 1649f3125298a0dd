import AkisConfig
@testable import Auth
import Daemon
import Events
import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization
import TestSupport
import Testing

/// A real daemon with the events and auth modules on a scratch database: its HTTP address, its
/// database and its maildir. `stop()` ends it cleanly (a service that returns stops the group).
final class AuthDaemon {
    /// Which daemons may run: a stopper service returns once its id is gone from here.
    static let running = Mutex<Set<UUID>>([])

    struct Stopper: DaemonModule {
        static let name = "test-stopper"
        static var settings: (any ModuleSettings.Type)? { StopperSettings.self }
        let services: [any Service]
        init(context: ModuleContext) throws {
            let id = UUID(uuidString: context.configuration.settings(StopperSettings.self).id)!
            services = [ThreadService(name: "test-stopper", stop: {}) { while AuthDaemon.running.withLock({ $0.contains(id) }) { sleepBlocking(.microseconds(2_000)) } }]
        }
    }

    struct StopperSettings: ModuleSettings {
        static let section = "test_stopper"
        var id = ""
        init() {}
        mutating func read(_ section: inout ConfigSection) throws(ConfigError) { id = try section.string("id", default: "") }
        var summary: String { id }
    }

    let http: String
    let url: String
    let maildir: String
    let db: LibpqConnection
    private let id: UUID
    private let run: Task<Void, any Error>
    private let directory: String

    /// Starts one on `url` with `[auth]` keys added to the defaults below (bcrypt cost 4: tests
    /// check the logic, the cost's speed is measured in the benchmark).
    init(url: String, auth extra: [String: String] = [:]) async throws {
        id = UUID()
        directory = NSTemporaryDirectory() + "akis-auth-test-\(id.uuidString)"
        maildir = directory + "/mail"
        self.url = url
        var text = """
            [http]
            address = "127.0.0.1:0"
            operator_routes = "local"
            [database]
            url = "\(url)"
            [test_stopper]
            id = "\(id.uuidString)"
            [auth]

            """
        let auth = ["bcrypt_cost": "4", "key_file": "\"\(directory)/jwt.key\"", "maildir": "\"\(maildir)\"",
                    "requests_per_minute_per_address": "10000", "requests_per_minute_per_account": "10000"].merging(extra) { $1 }
        text += auth.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)\n" }.joined()
        let modules: [any DaemonModule.Type] = [EventsModule.self, AuthModule.self, Stopper.self]
        let configuration = try AkisConfiguration.parse(text, modules: Daemon.settings(modules))
        let readyFile = directory + "/ready"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = id
        Self.running.withLock { _ = $0.insert(id) }
        run = Task { try await Daemon(configuration: configuration, logger: Logger(label: "auth-test"), readyFile: readyFile).run(modules) }
        try await waitUntil("the ready file", within: .seconds(60)) { FileManager.default.fileExists(atPath: readyFile) }
        http = String(try String(contentsOfFile: readyFile, encoding: .utf8).split(separator: "\n").last!.dropFirst("http ".count))
        var connection: LibpqConnection?
        try await offThePool { connection = try LibpqConnection(conninfo: url) }
        db = connection!
    }

    func stop() async throws {
        let id = id
        Self.running.withLock { _ = $0.remove(id) }
        try await value(of: run, within: .seconds(60), "the daemon to stop")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A JSON POST: status, headers and the reply parsed (nil when it is not a JSON object).
    func post(_ path: String, _ body: [String: Any], headers: [(String, String)] = []) async throws -> (status: Int, headers: [String: String], json: [String: Any]) {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await send("POST", path, headers: [("Content-Type", "application/json")] + headers, body: Array(data))
    }

    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws
        -> (status: Int, headers: [String: String], json: [String: Any]) {
        let r = try await httpRequest(http, method, path, headers: headers, body: body)
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? ["raw": r.body]
        return (r.status, r.headers, json)
    }

    /// Registers and verifies a user (through the verification mail's link); its password.
    @discardableResult
    func verifiedUser(_ username: String, email: String, password: String = "Güçlü-Parola-42") async throws -> String {
        let r = try await post("/api/auth/register", ["email": email, "username": username, "password": password])
        guard r.status == 201 else { throw AuthTestFailure("register \(username): \(r)") }
        let link = try await mailLink(to: email)
        let verified = try await send("GET", String(link.dropFirst("http://\(http)".count)))
        guard verified.status == 200 else { throw AuthTestFailure("verify \(username): \(verified)") }
        return password
    }

    /// The verification link of the newest mail to `recipient` in the maildir (waits for the mail consumer).
    func mailLink(to recipient: String) async throws -> String {
        var link: String?
        try await waitUntil("a mail to \(recipient)", within: .seconds(30), every: .milliseconds(20)) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []
            for name in names {
                let text = try String(contentsOfFile: "\(maildir)/new/\(name)", encoding: .utf8)
                guard text.contains("To: \(recipient)\r\n") else { continue }
                let decoded = text.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=3D", with: "=")
                link = decoded.split(separator: "\r\n").first { $0.hasPrefix("http://") }.map(String.init)
            }
            return link != nil
        }
        return link!
    }
}

struct AuthTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
