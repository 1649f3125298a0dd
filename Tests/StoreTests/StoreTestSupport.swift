import Foundation
import Ingest
import Store

/// A database of its own for one test (migrations create tables, functions and partitions),
/// dropped afterwards. `body` gets its connection string.
func withScratchDatabase(_ body: (String) throws -> Void) throws {
    guard let base = ProcessInfo.processInfo.environment["AKIS_TEST_DATABASE_URL"], !base.isEmpty else { throw TestDatabaseMissing() }
    let admin = try PostgresConnection(conninfo: base)
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try admin.execute("CREATE DATABASE \(name)")
    defer { _ = try? admin.execute("DROP DATABASE \(name) WITH (FORCE)") }
    try body("\(base) dbname=\(name)")
}

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
