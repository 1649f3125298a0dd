import Foundation
import Ingest
import Store
import TestSupport

let storeSymbols = try! SymbolTable(BISTMarket.bist30)

/// Ticks with every column exercised, numbered from `from`, one every `step` ns from 2024-09-24 07:00 UTC.
func storeTicks(_ n: Int, from: UInt64 = 1, feed: UInt16 = 1, seed: UInt64 = 1, step: Int64 = 1_000_123) -> [Tick] {
    var r = SplitMix64(seed: seed)
    let start: Int64 = 1_727_161_200_000_000_000
    return (0..<n).map { i in
        let kind: TickKind = r.next() % 3 == 0 ? .quote : .trade
        let bid = r.next() % 4 == 0 ? Price.zero : Price(units: Int64(1 + r.next() % 5_000_000_000))
        let ask = r.next() % 4 == 0 ? Price.zero : Price(units: Int64(1 + r.next() % 5_000_000_000))
        return Tick(symbol: SymbolID(UInt32(r.next() % UInt64(storeSymbols.count))), kind: kind,
                    side: TradeSide(rawValue: UInt8(r.next() % 3))!, price: Price(units: Int64(1 + r.next() % 5_000_000_000)),
                    quantity: Int64(r.next() % 1_000_000), bid: bid, ask: ask,
                    exchangeTime: start + Int64(i) * step, receiveTime: start + Int64(i) * step + 777_777,
                    sequence: from + UInt64(i), feed: feed)
    }
}

/// Stores `ticks` (all on 2024-09-24, as `storeTicks` makes them) with one binary COPY, outside
/// the writer; returns the rows copied.
@discardableResult
func copyTicks(_ ticks: [Tick], into db: LibpqConnection) throws -> Int {
    var encoder = TickCopyEncoder(symbols: SymbolUniverse(storeSymbols))
    for t in ticks { encoder.append(t) }
    if try testLayout() == .plain { try db.execute("SELECT akis_ensure_tick_partition('2024-09-24')") }
    return try db.copyIn("COPY market_ticks (\(TickCopyEncoder.columns)) FROM STDIN (FORMAT binary)", data: encoder.finished())
}

/// A fresh empty directory under the temporary directory, named after what it is for.
func scratchDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "akis-\(label)-" + UUID().uuidString.prefix(8)
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writer options with a spool of its own.
func writerOptions(_ label: String = "spool") -> CopyBatchWriter.Options {
    CopyBatchWriter.Options(spool: TickSpool.Options(directory: scratchDirectory(label)))
}

/// A PostgreSQL cluster of one test's own, started and stopped with the project's scripts, so the
/// test can take the database away and bring it back.
final class PrivatePostgres {
    let directory = "/tmp/akis-pg-test-" + UUID().uuidString.prefix(8).lowercased()
    private(set) var url = ""

    init() throws { try start() }

    deinit { _ = try? Self.shell("remove_private_postgres '\(directory)'") }

    func start() throws {
        url = try Self.shell("start_private_postgres '\(directory)' >/dev/null && printf %s \"$AKIS_DATABASE_URL\"")
    }

    func stop() throws { _ = try Self.shell("stop_private_postgres '\(directory)'") }

    private static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/common.sh").path

    /// Runs `command` after sourcing scripts/common.sh; returns its stdout. Spawned with
    /// posix_spawn rather than Foundation's Process, whose exit detection relies on a descriptor
    /// that the PostgreSQL daemon started here would inherit and keep open.
    private static func shell(_ command: String) throws -> String {
        try CooperativePool.refuseBlocking("running scripts/common.sh: \(command)")
        let dir = scratchDirectory("shell")
        let outPath = dir + "/stdout", errPath = dir + "/stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Descriptors of the test process (other tests' pipes) must not live on in the daemon.
        let closeInherited = "for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done 2>/dev/null; "
        let arguments = ["/bin/bash", "-c", closeInherited + "source '\(scripts)' && \(command)"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &argv, environ)
        guard spawned == 0 else { throw StoreError("cannot run bash: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}  // blocking-checked
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let problem = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: dir)
        guard status == 0 else { throw StoreError("\(command) failed (wait status \(status)): \(problem)") }
        return text
    }
}
