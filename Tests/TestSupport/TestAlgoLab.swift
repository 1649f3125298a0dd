import Foundation
import Ingest
import Testing

/// The fake AlgoLab (`scripts/fake-algolab`, Python's aiohttp and cryptography, independent of
/// our Swift code) on a loopback port, with its test controls. Its deadlines: it starts within
/// 30 s or throws; each control request has `httpRequest`'s 60 s; `stop()` (or deinit) ends it
/// with SIGKILL. (A helper, not a suite: the suites that use it carry `.timeLimit` too.)
public final class TestAlgoLab: @unchecked Sendable {
    public let port: Int
    /// With `--tls DIR`: the TLS port (the same service), whose certificate is `DIR/cert.pem`.
    public private(set) var tlsPort: Int?
    /// AlgoLab's documented example key, which the fake checks against.
    public static let apiKey = "API-04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg="
    public static let user = "10000000146", password = "123456", sms = "654321"
    private let process = Process()
    private let output: String

    /// `arguments` go to the fake (`--min-interval 0.2`, `--recording FILE`, …).
    public init(arguments: [String] = []) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try CooperativePool.refuseBlocking("starting the fake AlgoLab")
        output = NSTemporaryDirectory() + "akis-fake-algolab-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [root.appendingPathComponent("scripts/fake-algolab").path, "--port", "0"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = process.standardOutput
        try process.run()
        let deadline = Clock.monotonicNanos() + 30_000_000_000
        while true {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n")
            let wantsTLS = arguments.contains("--tls")
            if let line = lines.first(where: { $0.hasPrefix("listening on ") }), let p = Int(line.dropFirst(13)),
               !wantsTLS || lines.contains(where: { $0.hasPrefix("tls on ") }) {
                port = p
                tlsPort = lines.first { $0.hasPrefix("tls on ") }.flatMap { Int($0.dropFirst(7)) }
                break
            }
            guard process.isRunning, Clock.monotonicNanos() < deadline else {
                if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
                throw TestAlgoLabFailure("the fake AlgoLab did not start (python3-aiohttp, python3-cryptography installed?): \(text)")
            }
            sleepBlocking(.microseconds(20_000))
        }
    }

    /// `init` for async tests, off the cooperative pool.
    public static func start(arguments: [String] = []) async throws -> TestAlgoLab {
        try await offThePool { try TestAlgoLab(arguments: arguments) }
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public var restURL: String { "http://127.0.0.1:\(port)/api" }
    public var webSocketURL: String { "ws://127.0.0.1:\(port)/api/ws" }

    /// A test control (`fail`, `expire`, `drop`, `send`, `fill`, `stream`), its JSON answer.
    @discardableResult
    public func control(_ what: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        let r = try await httpRequest("127.0.0.1:\(port)", "POST", "/_fake/\(what)", headers: [("Content-Type", "application/json")], body: Array(data))
        guard r.status == 200 else { throw TestAlgoLabFailure("/_fake/\(what): HTTP \(r.status) \(r.body)") }
        return (try JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
    }

    /// What the fake received: calls (endpoint, body, headers), subscriptions, rejections, ….
    public func log() async throws -> [String: Any] {
        let r = try await httpRequest("127.0.0.1:\(port)", "GET", "/_fake/log")
        return (try JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
    }

    /// The reasons the fake refused something (a wrong header, Checker, cipher, body).
    public func rejected() async throws -> [String] { try await log()["rejected"] as? [String] ?? [] }

    /// The endpoints called, in order.
    public func calls() async throws -> [String] {
        (try await log()["calls"] as? [[String: Any]] ?? []).compactMap { $0["endpoint"] as? String }
    }
}

public struct TestAlgoLabFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What `Samples/algolab-sample.jsonl` says, read with plain text matching (not the decoder
/// under test).
public enum AlgoLabSample {
    public static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/algolab-sample.jsonl").path

    public static func lines() throws -> [Substring] { try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") }

    /// Each well-formed T line for a BIST-30 symbol: its symbol, price text, quantity text and time.
    public static func trades(_ lines: ArraySlice<Substring>) -> [(symbol: String, price: String, quantity: String, date: String)] {
        lines.compactMap { line in
            guard line.hasPrefix(#"{"Type":"T""#) else { return nil }
            func field(_ name: String) -> String? {
                guard let r = line.range(of: "\"\(name)\":") else { return nil }
                let value = line[r.upperBound...].prefix { $0 != "," && $0 != "}" }
                return value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            guard let s = field("Symbol"), BISTMarket.bist30.contains(s), let p = field("Price"), Price(p) != nil,
                  let q = field("TradeQuantity"), let d = field("Date") else { return nil }
            return (s, p, q, d)
        }
    }
}
