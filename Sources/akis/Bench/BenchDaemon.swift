import Bench
import Foundation
import Ingest
import Store

/// An `akis serve` the bench starts: this same executable, with a configuration written for the
/// run, a private PostgreSQL unless the store is a counting sink, and a fresh database each time.
final class BenchDaemon {
    /// The database each run starts afresh in (dropped and created again).
    static let database = "akis_bench"
    let process = Process()
    let target: BenchRun.Target
    private let postgres: PrivatePostgres?
    private let benchDatabase: String?
    private let directory: String
    let logPath: String

    /// - Parameter symbols: the daemon's symbol universe (the feed's).
    init(directory: String, nullStore: Bool, timescaleDB: Bool, clients: Int, kafka: String?, auth: [String]? = nil, symbols: [String],
         log: @escaping @Sendable (String) -> Void) throws {
        let fm = FileManager.default
        self.directory = directory
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var databaseTOML = ""
        var benchDatabase: String?
        if nullStore {
            postgres = nil
        } else {
            let pg = try PrivatePostgres.start(directory: "\(directory)/postgres\(timescaleDB ? "-timescaledb" : "")", timescaleDB: timescaleDB, log: log)
            postgres = pg
            let admin = try LibpqConnection(conninfo: pg.conninfo)
            _ = try admin.execute("DROP DATABASE IF EXISTS \(Self.database) WITH (FORCE)")
            _ = try admin.execute("CREATE DATABASE \(Self.database)")
            benchDatabase = pg.conninfo(database: Self.database)
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
            [market]
            symbols = [\(symbols.map { "\"\($0)\"" }.joined(separator: ", "))]
            [fanout]
            max_clients = \(max(256, clients + 16))
            \(databaseTOML)
            \(kafka.map { "[kafka]\nbrokers = [\"\($0)\"]" } ?? "")
            \(auth.map { (["[auth]", "required = false", "key_file = \"\(directory)/jwt.key\"", "maildir = \"\(directory)/mail\"",
                          "requests_per_minute_per_address = 1000000", "requests_per_minute_per_account = 1000000"] + $0).joined(separator: "\n") } ?? "")
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
        self.benchDatabase = benchDatabase
        var counter: (@Sendable (ClosedRange<UInt64>) throws -> UInt64)?
        if let url = benchDatabase {
            counter = { try BenchDaemon.countTicks(url, sequences: $0) }
        }
        target = BenchRun.Target(feed: feed, httpHost: String(http[..<colon]), httpPort: port, pid: process.processIdentifier,
                                 description: "akis serve started by the bench (pid \(process.processIdentifier))", storing: !nullStore,
                                 countRows: counter)
    }

    /// Adds a verified user with a new password (akis users add); returns the password.
    func addUser(_ name: String) throws -> String {
        let add = Process()
        add.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        add.arguments = ["users", "add", name, "--email", "\(name)@example.com", "--config", "\(directory)/akis.toml"]
        let out = Pipe()
        add.standardOutput = out
        try add.run()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        add.waitUntilExit()
        guard add.terminationStatus == 0, let password = said.components(separatedBy: "password: ").last?.trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw BenchError("akis users add \(name) failed: \(said)")
        }
        return password
    }

    private static func countTicks(_ url: String, sequences: ClosedRange<UInt64>? = nil) throws -> UInt64 {
        let db = try LibpqConnection(conninfo: url)
        let filter = sequences.map { " WHERE seq BETWEEN \($0.lowerBound) AND \($0.upperBound)" } ?? ""
        let rows = try db.execute("SELECT count(*) FROM market_ticks" + filter).rows
        guard let first = rows.first, let cell = first.first, let text = cell, let n = UInt64(text) else { return 0 }
        return n
    }

    /// Stops the daemon (SIGTERM: it drains and stores everything). Returns its last "stopped:" line.
    @discardableResult
    func stopDaemon() -> String? {
        process.stop(within: 120)
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").last { $0.contains("stopped: ") }.map(String.init)
    }

    /// Stops the daemon and the private PostgreSQL.
    func stop() {
        stopDaemon()
        postgres?.stop()
    }

    /// psql's `\copy (FORMAT binary)` of the rows the daemon stored, into the same table emptied
    /// (after the daemon has stopped): the baseline for the store's ingest rate.
    func psqlCopy(log: @Sendable (String) -> Void) throws -> BenchOutput.PsqlCopy {
        guard let postgres, let url = benchDatabase else { throw BenchError("the psql baseline needs the bench's own PostgreSQL (not --null-store)") }
        let file = "\(directory)/ticks.copy"
        defer { try? FileManager.default.removeItem(atPath: file) }
        log("baseline: psql \\copy (FORMAT binary) of the stored rows into market_ticks, emptied")
        try postgres.psql(database: Self.database, "\\copy (SELECT * FROM market_ticks) TO '\(file)' (FORMAT binary)")
        let rows = try BenchDaemon.countTicks(url)
        try postgres.psql(database: Self.database, "TRUNCATE market_ticks", "CHECKPOINT")
        let start = Clock.monotonicNanos()
        try postgres.psql(database: Self.database, "\\copy market_ticks FROM '\(file)' (FORMAT binary)")
        let seconds = Double(Clock.monotonicNanos() - start) / 1e9
        return BenchOutput.PsqlCopy(rows: rows, seconds: seconds, rowsPerSecond: Double(rows) / seconds)
    }
}
