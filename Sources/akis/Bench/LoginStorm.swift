import Foundation
import Bench
import Ingest
import Synchronization

/// `akis bench --login-storm N`: N clients, each logging in over HTTP again as soon as its last
/// login answered, for as long as the run lasts: the load BCrypt puts on a daemon next to its ticks.
/// Each client is a thread with a blocking socket (a connection per login, as a fresh client has).
final class LoginStorm: Sendable {
    private let stopFlag = Atomic<Bool>(false)
    private let succeeded = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)
    private let refused = Atomic<UInt64>(0)
    private let latencies = Mutex<[Int64]>([])
    private let running = Atomic<Int>(0)
    private let started = Clock.monotonicNanos()

    /// Starts `clients` logging in as `user` to the daemon at `host:port`.
    init(clients: Int, host: String, port: UInt16, user: String, password: String) {
        let body = Array((try? JSONSerialization.data(withJSONObject: ["login": user, "password": password])) ?? Data())
        let request = Array("POST /api/auth/login HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        for _ in 0..<clients {
            running.add(1, ordering: .relaxed)
            let thread = Thread { [self] in
                defer { running.subtract(1, ordering: .relaxed) }
                while !stopFlag.load(ordering: .relaxed) {
                    let sent = Clock.monotonicNanos()
                    let reply = Self.exchange(request, host: host, port: port)
                    if reply?.status == 200 {
                        succeeded.add(1, ordering: .relaxed)
                        let took = Clock.monotonicNanos() - sent
                        latencies.withLock { $0.append(took) }
                    } else if let reply, reply.status == 503 || reply.status == 429 {
                        // Busy: back off as told, as a well-behaved client does.
                        refused.add(1, ordering: .relaxed)
                        let wait = reply.retryAfter.flatMap { Int($0) } ?? 1
                        usleep(UInt32(min(wait, 60)) * 1_000_000)
                    } else {
                        failed.add(1, ordering: .relaxed)
                        usleep(100_000)
                    }
                }
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    /// One login: its HTTP status and `Retry-After`, or nil when the exchange failed (within
    /// 120 s: a login waits its turn behind the others for BCrypt).
    private static func exchange(_ request: [UInt8], host: String, port: UInt16) -> (status: Int, retryAfter: String?)? {
        guard let reply = try? HTTPExchange.send(request, host: host, port: port, timeoutMillis: 120_000),
              let status = HTTPExchange.status(reply.statusLine) else { return nil }
        return (status, reply.headers["retry-after"])
    }

    /// Stops every client (after its login in flight) and says what they did.
    func stop() -> String {
        stopFlag.store(true, ordering: .relaxed)
        let deadline = Clock.monotonicNanos() + 180_000_000_000
        while running.load(ordering: .relaxed) > 0 && Clock.monotonicNanos() < deadline { usleep(20_000) }
        let seconds = Double(Clock.monotonicNanos() - started) / 1e9
        let ok = succeeded.load(ordering: .relaxed), bad = failed.load(ordering: .relaxed), busy = refused.load(ordering: .relaxed)
        let sorted = latencies.withLock { $0.sorted() }
        func percentile(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            return String(format: "%.0f ms", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6)
        }
        return String(format: "login storm: %@ logins in %.1f s (%.1f/s), %@ refused as busy (each client then waits as told), %@ failed; login latency p50 %@, p99 %@",
                      grouped(ok), seconds, Double(ok) / seconds, grouped(busy), grouped(bad), percentile(0.5), percentile(0.99))
    }
}
