import ArgumentParser
import Foundation
import Ingest
import HummingbirdWSClient
import Logging
import Synchronization

/// `akis subscribe`: a client of a daemon's `/ws/market-data`, for looking at the live stream and
/// for measuring the fan-out (`--count`).
struct Subscribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to a daemon's /ws/market-data and print what arrives.",
        discussion: "Prints each message as a line of JSON, or with --count a line a second of how many messages of each type arrived and how fast. Ends when the server closes the connection (printing its close code and reason), after --duration, or on Ctrl-C.")

    @Argument(help: "The daemon's WebSocket, e.g. ws://127.0.0.1:8080/ws/market-data.") var url: String
    @Argument(help: "Symbols to subscribe to, e.g. GARAN AKBNK.") var symbols: [String]
    @Flag(help: "Count messages by type instead of printing them.") var count = false
    @Flag(help: "Also ask for the symbols' order book depth (DEPTH messages, from exchange feeds).") var depth = false
    @Option(help: "Stop after this long, e.g. 30s or 5m.") var duration: String?
    @Option(help: "An access token (POST /api/auth/login), sent as the first message; default: $AKIS_TOKEN.") var token: String?

    func validate() throws {
        guard url.hasPrefix("ws://") else { throw ValidationError("the URL must start with ws:// (got \(url.debugDescription)); TLS is not served") }
        if let duration, parseDuration(duration) == nil { throw ValidationError("--duration must be like 30s, 5m or 250ms, got \(duration.debugDescription)") }
    }

    func run() throws {
        var request: [String: Any] = ["type": "SUBSCRIBE", "symbols": symbols]
        if depth { request["depth"] = true }
        let command = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let auth = (token ?? ProcessInfo.processInfo.environment["AKIS_TOKEN"]).flatMap { $0.isEmpty ? nil : $0 }.map {
            String(decoding: (try? JSONSerialization.data(withJSONObject: ["type": "AUTH", "token": $0])) ?? Data(), as: UTF8.self)
        }
        StopSignal.install()
        let tally = Tally()
        let (url, counting, seconds) = (url, count, duration.flatMap(parseDuration))
        let outcome = Mutex<Result<String, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let client = Task.detached {
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "akis-subscribe")) { inbound, outbound, _ in
                    if let auth { try await outbound.write(.text(auth)) }
                    try await outbound.write(.text(command))
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        guard case .text(let text) = message else { continue }
                        if !counting {
                            print(text)
                        } else if tally.add(text) == "ERROR" {
                            printError(text)
                        }
                    }
                }
                outcome.withLock { $0 = .success(close.map { "closed by the server: \($0.closeCode) \($0.reason ?? "")" } ?? "closed") }
            } catch is CancellationError {
                outcome.withLock { $0 = .success("stopped") }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        let started = Date()
        while done.wait(timeout: .now() + 1) == .timedOut {
            if counting { printError(tally.line(since: started)) }
            let expired = seconds.map { Date().timeIntervalSince(started) >= $0 } ?? false
            if expired || StopSignal.requested.load(ordering: .relaxed) {
                client.cancel()
                done.wait()
                break
            }
        }
        if counting { print(tally.line(since: started)) }
        switch outcome.withLock({ $0 }) {
        case .success(let how)?: printError(how)
        case .failure(let error)?: throw CLIError("\(url): \(error)")
        case nil: break
        }
    }

    /// Messages by type, counted from the `"type"` at the start of each.
    final class Tally: Sendable {
        private let counts = Mutex<[String: UInt64]>([:])
        /// Counts one message; returns its type.
        @discardableResult
        func add(_ text: String) -> String {
            let utf8 = text.utf8
            let start = utf8.index(utf8.startIndex, offsetBy: 9, limitedBy: utf8.endIndex) ?? utf8.endIndex
            let type = String(text[start..<(utf8[start...].firstIndex(of: UInt8(ascii: "\"")) ?? start)])
            counts.withLock { $0[type, default: 0] += 1 }
            return type
        }
        func line(since started: Date) -> String {
            let c = counts.withLock { $0 }
            let total = c.values.reduce(0, +)
            let elapsed = Date().timeIntervalSince(started)
            let types = c.sorted { $0.key < $1.key }.map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ")
            return String(format: "received %@ messages in %.1f s (%@ a second): %@", grouped(total), elapsed, grouped(UInt64(Double(total) / max(elapsed, 0.001))), types)
        }
    }
}
