import Bench
import Foundation
import Ingest
import Store

/// An `akis serve` the bench starts: this same executable, with a configuration written for the
/// run, a private PostgreSQL unless the store is a counting sink, and a fresh database each time.
final class BenchDaemon {
    let process = Process()
    let target: BenchRun.Target
    private let postgres: PrivatePostgres?
    let logPath: String

    init(directory: String, nullStore: Bool, timescaleDB: Bool, clients: Int, log: @escaping @Sendable (String) -> Void) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var databaseTOML = ""
        var benchDatabase: String?
        if nullStore {
            postgres = nil
        } else {
            let pg = try PrivatePostgres.start(directory: "\(directory)/postgres\(timescaleDB ? "-timescaledb" : "")", timescaleDB: timescaleDB, log: log)
            postgres = pg
            let admin = try PostgresConnection(conninfo: pg.conninfo)
            _ = try admin.execute("DROP DATABASE IF EXISTS akis_bench WITH (FORCE)")
            _ = try admin.execute("CREATE DATABASE akis_bench")
            benchDatabase = pg.conninfo(database: "akis_bench")
            // A spool left by an earlier run belongs to its database, which is gone.
            try? fm.removeItem(atPath: "\(directory)/spool")
            databaseTOML = """
                [database]
                url = "\(benchDatabase!)"
                [store]
                spool_directory = "\(directory)/spool"
                """
        }
        let config = """
            [serve]
            stats_interval = "1s"
            [http]
            address = "127.0.0.1:0"
            [fanout]
            max_clients = \(max(256, clients + 16))
            \(databaseTOML)
            [[feeds]]
            name = "bench"
            address = "tcp://127.0.0.1:0"
            format = "binary"
            """
        try config.write(toFile: "\(directory)/akis.toml", atomically: true, encoding: .utf8)
        let ready = "\(directory)/ready"
        try? fm.removeItem(atPath: ready)
        logPath = "\(directory)/serve.log"
        _ = fm.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--config", "\(directory)/akis.toml", "--ready-file", ready]
        process.standardError = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        log("starting akis serve (log: \(logPath))")
        try process.run()
        let deadline = Clock.monotonicNanos() + 60_000_000_000
        var lines: [Substring] = []
        while Clock.monotonicNanos() < deadline {
            if let text = try? String(contentsOfFile: ready, encoding: .utf8), text.hasSuffix("\n") { lines = text.split(separator: "\n"); break }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        func field(_ kind: String, _ index: Int) -> String? {
            lines.first { $0.hasPrefix(kind + " ") }.map { $0.split(separator: " ")[index] }.map(String.init)
        }
        guard let feedText = field("feed", 2), let http = field("http", 1), let feed = try? FeedAddress(parsing: feedText),
              let colon = http.lastIndex(of: ":"), let port = UInt16(http[http.index(after: colon)...]) else {
            let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").suffix(10).joined(separator: "\n") ?? ""
            if process.isRunning { process.terminate() }
            postgres?.stop()
            throw BenchError("akis serve did not come up (log \(logPath)):\n\(tail)")
        }
        var counter: (@Sendable () throws -> UInt64)?
        if let url = benchDatabase {
            counter = { try BenchDaemon.countTicks(url) }
        }
        target = BenchRun.Target(feed: feed, httpHost: String(http[..<colon]), httpPort: port, pid: process.processIdentifier,
                                 description: "akis serve started by the bench (pid \(process.processIdentifier))", storing: !nullStore,
                                 countRows: counter)
    }

    private static func countTicks(_ url: String) throws -> UInt64 {
        let db = try PostgresConnection(conninfo: url)
        let rows = try db.execute("SELECT count(*) FROM market_ticks").rows
        guard let first = rows.first, let cell = first.first, let text = cell, let n = UInt64(text) else { return 0 }
        return n
    }

    /// Stops the daemon (SIGTERM: it drains and stores everything) and the private PostgreSQL.
    /// Returns the daemon's last "stopped:" line.
    @discardableResult
    func stop() -> String? {
        if process.isRunning {
            process.terminate()
            let deadline = Clock.monotonicNanos() + 120_000_000_000
            while process.isRunning && Clock.monotonicNanos() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        postgres?.stop()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").last { $0.contains("stopped: ") }.map(String.init)
    }
}
