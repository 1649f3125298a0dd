import Foundation

/// A PostgreSQL cluster of our own in a directory: Debian's server binaries, a Unix socket only (no
/// TCP port), trust authentication for the `akis` role. The same layout as `scripts/common.sh`
/// makes, so the scripts and `akis bench` can share a cluster directory.
///
/// PostgreSQL refuses to run as root; as root the cluster runs as the `postgres` user Debian's
/// package creates (in a directory under /tmp when that user cannot reach `directory`).
public struct PrivatePostgres: Sendable {
    /// Where the cluster lives (its `data`, `run` and log).
    public let directory: String
    /// A libpq connection string to the `postgres` database.
    public let conninfo: String
    /// The directory of the server's programs (psql, pg_ctl).
    public let binaries: String

    /// Starts the cluster in `directory` (creating it on first use), or reuses it if it runs.
    /// `timescaleDB` preloads the extension (it must be installed). `log` gets one line per step.
    public static func start(directory: String, timescaleDB: Bool = false, log: (String) -> Void) throws -> PrivatePostgres {
        let binaries = try findBinaries()
        let root = getuid() == 0
        var dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if root {
            try run(["/bin/chown", "postgres:postgres", dir])
            if (try? run(["/usr/sbin/runuser", "-u", "postgres", "--", "test", "-w", dir])) == nil {
                let moved = "/tmp/akis-pg-" + String(UInt64(bitPattern: Int64(dir.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })), radix: 16)
                log("postgres: \(dir) is not reachable by the postgres user; using \(moved)")
                try FileManager.default.createDirectory(atPath: moved, withIntermediateDirectories: true)
                try run(["/bin/chown", "postgres:postgres", moved])
                try "\(moved)\n".write(toFile: "\(dir)/.moved-to", atomically: true, encoding: .utf8)
                dir = moved
            }
        }
        let data = "\(dir)/data"
        var socket = "\(dir)/run"
        // Unix socket paths are limited to 107 bytes.
        if socket.utf8.count > 80 { socket = "/tmp/akis-pg-run-\(getpid())" }
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        if root { try run(["/bin/chown", "postgres:postgres", socket]) }
        let asOwner: ([String]) -> [String] = { root ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + $0 : $0 }
        if !FileManager.default.fileExists(atPath: "\(data)/PG_VERSION") {
            log("postgres: initialising a private cluster in \(data)")
            do { try run(asOwner(["\(binaries)/initdb", "-D", data, "-U", "akis", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])) } catch {
                throw StoreError("initdb failed: \(error)")
            }
        }
        if (try? run(asOwner(["\(binaries)/pg_ctl", "-D", data, "status"]))) == nil {
            log("postgres: starting a private server (socket in \(socket))")
            var options = "-c listen_addresses='' -c unix_socket_directories='\(socket)' -p 5432 -c fsync=on -c max_connections=50"
            if timescaleDB {
                options += " -c shared_preload_libraries=timescaledb -c max_worker_processes=32 -c timescaledb.max_background_workers=16 -c timescaledb.telemetry_level=off"
            }
            do { try run(asOwner(["\(binaries)/pg_ctl", "-D", data, "-l", "\(dir)/postgres.log", "-w", "-t", "60", "start", "-o", options])) } catch {
                let tail = (try? String(contentsOfFile: "\(dir)/postgres.log", encoding: .utf8))?.split(separator: "\n").suffix(10).joined(separator: "\n") ?? ""
                throw StoreError("PostgreSQL did not start (log \(dir)/postgres.log):\n\(tail)")
            }
        }
        // A cluster already running may use another socket directory: its pid file says which.
        if let pid = try? String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8) {
            let lines = pid.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.count > 4, !lines[4].isEmpty { socket = String(lines[4]) }
        }
        return PrivatePostgres(directory: dir, conninfo: "host=\(socket) port=5432 user=akis dbname=postgres", binaries: binaries)
    }

    /// The connection string for `database` on this server.
    public func conninfo(database: String) -> String { conninfo.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(database)") }

    /// Runs `commands` with this server's `psql` in `database`, stopping at the first error (which
    /// is thrown with psql's output).
    public func psql(database: String, _ commands: String...) throws {
        try Self.run(["\(binaries)/psql", conninfo(database: database), "-v", "ON_ERROR_STOP=1", "-qAt"] + commands.flatMap { ["-c", $0] })
    }

    /// Stops the server (fast shutdown: sessions are ended, data is safe).
    public func stop() {
        let command = ["\(binaries)/pg_ctl", "-D", "\(directory)/data", "-m", "fast", "-w", "stop"]
        _ = try? Self.run(getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command)
    }

    private static func findBinaries() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last(where: { FileManager.default.isExecutableFile(atPath: "\(base)/\($0)/bin/pg_ctl") }) else {
            throw StoreError("PostgreSQL's server programs are not under \(base) (install Debian's 'postgresql' package)")
        }
        return "\(base)/\(newest)/bin"
    }

    /// Runs a program to completion; throws with its output when it fails.
    ///
    /// Spawned directly rather than with Foundation's `Process`: `pg_ctl start` leaves the server
    /// running with whatever descriptors it inherited, and `Process` (which watches a descriptor
    /// it hands the child) would then wait for the server to exit. Here the child gets only
    /// /dev/null and an output file.
    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        let path = NSTemporaryDirectory() + "akis-postgres-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc 2.34+ has it; Swift does not import it (a GNU extension), so it is looked up.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard rc == 0 else { throw StoreError("cannot run \(arguments[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, which Swift does not import (they are macros).
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let how = exited ? "exited with \(code)" : "was killed by signal \(status & 0x7f)"
            throw StoreError("\(arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")) \(how): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output
    }
}
