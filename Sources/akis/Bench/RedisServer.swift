import Bench
import Foundation
import Ingest

/// A `redis-server` (Debian's package) the bench starts on a free loopback port for the pub/sub
/// baseline: no persistence, its log and working files in the bench's directory.
final class RedisServer {
    static let program = "/usr/bin/redis-server"
    let process = Process()
    let port: UInt16

    init(directory: String, log: @Sendable (String) -> Void) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.program) else {
            throw BenchError("the Redis baseline needs \(Self.program): install Debian's redis-server package (scripts/bench does)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: Self.program)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--protected-mode", "no", "--dir", directory, "--logfile", "\(directory)/redis.log"]
        // Errors before its log is open (a bad option, a port taken) go to its standard error.
        let errors = "\(directory)/redis.stderr"
        try? FileManager.default.removeItem(atPath: "\(directory)/redis.log")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: errors)
        process.standardError = FileHandle(forWritingAtPath: errors)
        log("baseline: starting redis-server on 127.0.0.1:\(port) (log: \(directory)/redis.log)")
        try process.run()
        let deadline = Clock.monotonicNanos() + 10_000_000_000
        while Clock.monotonicNanos() < deadline {
            if (try? Socket.connect(to: FeedAddress(transport: .tcp, host: "127.0.0.1", port: port))) != nil { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        let said = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: "\(directory)/redis.log", encoding: .utf8)) ?? "")
        throw BenchError("redis-server did not start on 127.0.0.1:\(port): \(said.split(separator: "\n").suffix(5).joined(separator: "\n"))")
    }

    /// A loopback port the kernel says is free now (its probe socket closed again).
    private static func freePort() throws -> UInt16 {
        let probe = try Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0))
        return probe.boundAddress.port
    }

    var target: BenchRun.Target {
        var t = BenchRun.Target(feed: FeedAddress(transport: .tcp, host: "127.0.0.1", port: port), httpHost: "127.0.0.1", httpPort: port,
                                pid: process.processIdentifier, description: "redis-server pub/sub (pid \(process.processIdentifier)), one channel per symbol",
                                storing: false)
        t.subscribers = .redis
        return t
    }

    func stop() {
        process.stop(within: 10)
    }
}
