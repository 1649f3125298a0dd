import Foundation
import Aggregator
import Ingest
import Store
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct TickSpoolTests {
    func segmentFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".akspool") }.sorted()
    }

    @Test func batchesComeBackExactlyLowestNumberFirst() throws {
        let dir = scratchDirectory("spool")
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { _ in }
        let a = storeTicks(3_000), b = storeTicks(10, from: 5_000, feed: 2), c = storeTicks(700, from: 9_000)
        try spool.append(number: 7, ticks: a)
        try spool.append(number: 9, ticks: c)
        try spool.append(number: 5, ticks: b)  // moved from memory later, but older
        #expect(spool.count == 3 && spool.lowestNumber == 5 && spool.highestNumber == 9)
        #expect(try spool.read(5).ticks == b && spool.read(7).ticks == a && spool.read(9).ticks == c)
        #expect(spool.bytes > 0 && spool.bytes < Int64(3_710 * 64), "compressed")
        for n: Int64 in [5, 7, 9] { spool.remove(n) }
        #expect(spool.isEmpty && spool.bytes == 0)
        #expect(segmentFiles(dir).isEmpty, "an empty spool leaves no files")
        #expect(throws: TickSpool.ReadError.self) { try spool.read(7).ticks }
    }

    @Test func candleKeysAndSnapshotsTravelWithTheirBatchAndSurviveAReopen() throws {
        let dir = scratchDirectory("spool")
        let keys = [CandleKey(symbol: SymbolID(3), start: 1_727_172_000_000_000_000), CandleKey(symbol: SymbolID(29), start: -60_000_000_000)]
        let snapshots = [BookSnapshot(symbol: SymbolID(3), time: 1_727_172_010_000_000_000, bid: Price(units: 1), ask: .zero,
                                      lastPrice: Price(units: Int64.max), volume: 7, tradeCount: 2),
                         BookSnapshot(symbol: SymbolID(29), time: -10_000_000_000, bid: .zero, ask: Price(units: 5), lastPrice: .zero,
                                      volume: 0, tradeCount: 0)]
        do {
            let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { _ in }
            try spool.append(number: 1, ticks: storeTicks(20), candles: keys, snapshots: [snapshots[0]])
            try spool.append(number: 2, ticks: [], candles: [keys[0]])  // candles closed while no tick came
            try spool.append(number: 3, ticks: [], snapshots: snapshots)  // only snapshots
        }
        // Reopened under a table that orders the symbols differently: keys map by name, like ticks.
        let reordered = try SymbolTable(storeSymbols.allNames.reversed())
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(reordered)) { _ in }
        let first = try spool.read(1), second = try spool.read(2)
        let byName = { (k: CandleKey) in reordered.name(of: k.symbol) }
        #expect(first.ticks.count == 20 && first.candles.map(byName) == keys.map { storeSymbols.name(of: $0.symbol) })
        #expect(first.candles.map(\.start) == keys.map(\.start))
        #expect(second.ticks.isEmpty && second.candles.map(byName) == [storeSymbols.name(of: keys[0].symbol)] && second.snapshots.isEmpty)
        let third = try spool.read(3)
        #expect(first.snapshots.count == 1 && third.ticks.isEmpty && third.candles.isEmpty)
        for (back, sent) in zip(first.snapshots + third.snapshots, [snapshots[0]] + snapshots) {
            var renamed = back
            renamed.symbol = sent.symbol
            #expect(reordered.name(of: back.symbol) == storeSymbols.name(of: sent.symbol) && renamed == sent)
        }
    }

    @Test func aReopenedSpoolHasEverythingEvenUnderAnotherSymbolTable() throws {
        let dir = scratchDirectory("spool")
        let ticks = storeTicks(2_000, feed: 3)
        do {
            let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { _ in }
            try spool.append(number: 1, ticks: Array(ticks[..<1_000]))
            try spool.append(number: 2, ticks: Array(ticks[1_000...]))
        }
        // The universe changed between runs: other order, some symbols gone.
        let other = try SymbolTable(storeSymbols.allNames.reversed().prefix(10))
        let log = StoreLog()
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(other)) { log.append($0) }
        #expect(spool.count == 2)
        #expect(spool.recoveredHighest == [3: 2_000])
        #expect(log.all.contains { $0.contains("2 batches") && $0.contains("earlier run") })
        let back = try spool.read(1).ticks + spool.read(2).ticks
        #expect(back.count == ticks.count)
        #expect(zip(back, ticks).allSatisfy { spool.symbols.name(of: $0.symbol) == storeSymbols.name(of: $1.symbol) && $0.sequence == $1.sequence && $0.price == $1.price })
        #expect(spool.symbols.count == 30 && spool.symbols.ingestedCount == 10 && spool.symbols.id(for: storeSymbols.name(of: SymbolID(0))) == nil,
                "the names only the segments mention are recalled, not ingested")
    }

    /// A symbol that joins while the spool is in use starts a new segment, whose header names it;
    /// the next start recalls it from there without making it a symbol the daemon ingests.
    @Test func aSymbolThatJoinsStartsASegmentThatNamesIt() throws {
        let dir = scratchDirectory("spool")
        let start = try SymbolTable(["GARAN", "AKBNK"])
        func tick(_ symbol: SymbolID, _ seq: UInt64) -> Tick {
            Tick(symbol: symbol, kind: .trade, price: Price("10.5")!, quantity: 1, exchangeTime: 1_727_161_200_000_000_000, sequence: seq, feed: 1)
        }
        func segments() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".akspool") } }
        do {
            let universe = SymbolUniverse(start)
            let spool = try TickSpool(options: .init(directory: dir), symbols: universe) { _ in }
            try spool.append(number: 1, ticks: [tick(SymbolID(0), 1)])
            let enkai = try universe.join("ENKAI").id
            try spool.append(number: 2, ticks: [tick(enkai, 2), tick(SymbolID(1), 3)])
            try spool.append(number: 3, ticks: [tick(enkai, 4)])
            #expect(try segments().count == 2, "one segment before ENKAI joined, one after")
            #expect(try spool.read(2).ticks.map { universe.name(of: $0.symbol) } == ["ENKAI", "AKBNK"])
        }
        let universe = SymbolUniverse(start)
        let spool = try TickSpool(options: .init(directory: dir), symbols: universe) { _ in }
        let back = try (1...3).flatMap { try spool.read($0).ticks }
        #expect(back.map { universe.name(of: $0.symbol) } == ["GARAN", "ENKAI", "AKBNK", "ENKAI"] && back.map(\.sequence) == [1, 2, 3, 4])
        #expect(universe.id(for: "ENKAI") == nil && universe.ingestedCount == 2 && universe.count == 3, "recalled, not ingested")
        let joined = try universe.join("ENKAI")
        #expect(joined.id == back[1].symbol && joined.isNew && universe.id(for: "ENKAI") == joined.id, "an exchange announcing it makes it a symbol, under the same id")
    }

    @Test func aPartialRecordFromACrashIsCutOff() throws {
        let dir = scratchDirectory("spool")
        do {
            let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { _ in }
            try spool.append(number: 1, ticks: storeTicks(100))
            try spool.append(number: 2, ticks: storeTicks(100, from: 101))
        }
        let path = dir + "/" + segmentFiles(dir)[0]
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        // The process died while writing batch 3: half a record at the end.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("AKSB".utf8) + Data(repeating: 7, count: 40))
        try handle.close()
        let log = StoreLog()
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { log.append($0) }
        #expect(spool.count == 2)
        #expect(log.all.contains { $0.contains("partial record at byte \(whole.count)") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == whole)
        #expect(try spool.read(2).ticks.map(\.sequence) == Array(101...200))
    }

    @Test func aDamagedRecordIsReportedAndItsSegmentKept() throws {
        let dir = scratchDirectory("spool")
        var sizes: [Int] = []
        do {
            let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { _ in }
            for n in 1...3 { sizes.append(try spool.append(number: Int64(n), ticks: storeTicks(500, from: UInt64(n) * 1_000))) }
        }
        let path = dir + "/" + segmentFiles(dir)[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let secondRecordEnd = bytes.count - sizes[2]
        bytes[secondRecordEnd - 10] ^= 0xFF  // inside batch 2's payload
        try bytes.write(to: URL(fileURLWithPath: path))
        let log = StoreLog()
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { log.append($0) }
        #expect(log.all.contains { $0.contains("batch 2") && $0.contains("checksum") })
        #expect(spool.count == 2 && spool.lowestNumber == 1 && spool.highestNumber == 3)
        #expect(try spool.read(3).ticks.count == 500)
        spool.remove(1)
        spool.remove(3)
        #expect(segmentFiles(dir).isEmpty)
        #expect(FileManager.default.fileExists(atPath: path + ".corrupt"), "never delete what could not be read")
    }

    @Test func aFullSpoolRefusesWithoutWritingAnything() throws {
        let dir = scratchDirectory("spool")
        var options = TickSpool.Options(directory: dir)
        options.maximumBytes = 200_000
        options.segmentBytes = 50_000
        let spool = try TickSpool(options: options, symbols: SymbolUniverse(storeSymbols)) { _ in }
        var n: Int64 = 0
        var refused: TickSpool.AppendError?
        while refused == nil && n < 1_000 {
            n += 1
            do { try spool.append(number: n, ticks: storeTicks(500, from: UInt64(n) * 500)) } catch { refused = error }
        }
        guard case .full(let bytes, let limit) = refused else { Issue.record("never refused: \(String(describing: refused))"); return }
        #expect(limit == 200_000 && bytes <= limit && spool.bytes == bytes)
        #expect(spool.count == Int(n - 1))
        #expect(segmentFiles(dir).count > 1, "segments rotate")
        let onDisk = segmentFiles(dir).reduce(Int64(0)) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int64) ?? 0)
        }
        #expect(onDisk == spool.bytes)
        // Draining frees room; whole segments are deleted as they empty.
        spool.remove(1)
        spool.remove(2)
        spool.remove(3)
        #expect(spool.bytes < bytes)
        try spool.append(number: n, ticks: storeTicks(500, from: UInt64(n) * 500))
    }

    @Test func anUnwritableDirectoryIsAClearError() throws {
        #expect {
            _ = try TickSpool(options: .init(directory: "/proc/akis-spool"), symbols: SymbolUniverse(storeSymbols)) { _ in }
        } throws: { "\($0)".contains("/proc/akis-spool") }
    }
}
