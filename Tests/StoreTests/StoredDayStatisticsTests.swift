import Aggregator
import Foundation
import Ingest
import Store
import TestSupport
import Testing

/// A writer that starts after another stored (or spooled) part of a trading day hands the
/// aggregator the day's statistics and each symbol's previous close, equal to what the live
/// aggregation of the same ticks gave.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct StoredDayStatisticsTests {
    static let calendar = SessionCalendar()

    /// Istanbul wall time as UTC nanoseconds.
    static func istanbul(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int) -> Int64 {
        Int64(UTCTime.daysFromCivil(year: year, month: month, day: day)) * 86_400_000_000_000
            + Int64(hour * 60 + minute) * 60_000_000_000 - SessionCalendar.utcOffsetNanos
    }

    /// `n` ticks of `symbols` from `start`, one every 3.000123 ms (a time PostgreSQL rounds to
    /// the microsecond), numbered from `from`.
    static func ticks(_ n: Int, symbols: [String], from: UInt64, start: Int64, seed: UInt64) -> [Tick] {
        var r = SplitMix64(seed: seed)
        return (0..<n).map { i in
            let kind: TickKind = r.next() % 3 == 0 ? .quote : .trade
            let bid = r.next() % 5 == 0 ? Price.zero : Price(units: Int64(90_000_000 + r.next() % 20_000_000))
            let ask = r.next() % 5 == 0 ? Price.zero : Price(units: Int64(90_000_000 + r.next() % 20_000_000))
            return Tick(symbol: storeSymbols.id(for: symbols[Int(r.next() % UInt64(symbols.count))])!, kind: kind,
                        side: .unknown, price: Price(units: Int64(90_000_000 + r.next() % 20_000_000)), quantity: Int64(1 + r.next() % 10_000),
                        bid: bid, ask: ask, exchangeTime: start + Int64(i) * 3_000_123, receiveTime: start + Int64(i) * 3_000_123 + 1_000,
                        sequence: from + UInt64(i), feed: 1)
        }
    }

    /// The live model: every tick through `roll`/`apply` in its trading day, as the aggregator does,
    /// with times at PostgreSQL's microsecond.
    static func model(_ ticks: [Tick]) -> [SymbolStatistics] {
        var out = (0..<storeSymbols.count).map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }
        for tick in ticks.sorted(by: { $0.exchangeTime < $1.exchangeTime }) {
            let day = calendar.tradingDay(containing: tick.exchangeTime)!.day
            var t = tick
            t.exchangeTime = tick.exchangeTime / 1_000 * 1_000
            out[Int(t.symbol.rawValue)].roll(to: day)
            out[Int(t.symbol.rawValue)].apply(t)
        }
        for i in out.indices {
            out[i].changed = false
            if let day = out.compactMap(\.tradingDay).max(), out[i].tradingDay != nil { out[i].roll(to: day); out[i].changed = false }
        }
        return out
    }

    /// `s` with its times cut to the microsecond, as PostgreSQL keeps them.
    static func atMicroseconds(_ s: SymbolStatistics) -> SymbolStatistics {
        var out = s
        out.lastTradeTime = s.lastTradeTime / 1_000 * 1_000
        out.quoteTime = s.quoteTime / 1_000 * 1_000
        return out
    }

    func write(_ ticks: [Tick], url: String, options: CopyBatchWriter.Options, log: StoreLog) throws -> CopyBatchWriter {
        let writer = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { log.append($0) }
        for chunk in stride(from: 0, to: ticks.count, by: 997) {
            ticks[chunk..<min(chunk + 997, ticks.count)].withUnsafeBufferPointer { writer.consume($0) }
        }
        writer.finish()
        return writer
    }

    /// Friday 2024-10-25, Monday the 28th (a half day), Tuesday the 29th (Republic Day, no
    /// trading), Wednesday the 30th: restarted on Wednesday, the day is Wednesday's and the
    /// previous close of each symbol its last trade of Monday, or of Friday for one that did not
    /// trade on Monday; a symbol seen only on Friday keeps its close and an empty day.
    @Test func aRestartMidDayStartsFromTheStoredDayAndThePreviousClose() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            if try testLayout() == .plain {
                for day in ["2024-10-25", "2024-10-28", "2024-10-30"] { try db.execute("SELECT akis_ensure_tick_partition('\(day)')") }
            }
            let friday = Self.ticks(3_000, symbols: ["GARAN", "AKBNK", "THYAO"], from: 1, start: Self.istanbul(2024, 10, 25, 10, 0), seed: 1)
            let monday = Self.ticks(3_000, symbols: ["GARAN", "AKBNK"], from: 3_001, start: Self.istanbul(2024, 10, 28, 10, 0), seed: 2)
            let wednesday = Self.ticks(20_000, symbols: ["GARAN", "AKBNK", "ASELS"], from: 6_001, start: Self.istanbul(2024, 10, 30, 10, 0), seed: 3)
            let log = StoreLog()
            let options = writerOptions()
            _ = try write(friday + monday + wednesday, url: url, options: options, log: log)
            let restarted = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { log.append($0) }
            restarted.finish()
            let report = try #require(restarted.dayStatistics, "\(log.all)")
            #expect(report.statistics.day.date == "2024-10-30")
            #expect(report.storedTrades == Int64(wednesday.filter { $0.kind == .trade }.count))
            let expected = Self.model(friday + monday + wednesday)
            for name in ["GARAN", "AKBNK", "ASELS", "THYAO", "EREGL"] {
                let id = Int(storeSymbols.id(for: name)!.rawValue)
                #expect(report.statistics.symbols[id] == expected[id], "\(name)")
            }
            let garan = Int(storeSymbols.id(for: "GARAN")!.rawValue)
            let mondayClose = monday.filter { $0.kind == .trade && Int($0.symbol.rawValue) == garan }.last!.price
            #expect(report.statistics.symbols[garan].previousClose == mondayClose)
            let thyao = Int(storeSymbols.id(for: "THYAO")!.rawValue)
            #expect(report.statistics.symbols[thyao].previousClose == friday.filter { $0.kind == .trade && Int($0.symbol.rawValue) == thyao }.last!.price)
            #expect(report.statistics.symbols[thyao].tradeCount == 0 && report.statistics.symbols[thyao].open == nil)
            #expect(report.statistics.symbols[Int(storeSymbols.id(for: "ASELS")!.rawValue)].previousClose == nil)
            #expect(report.description.contains("trading day 2024-10-30 rebuilt from \(report.storedTrades) stored trades"), "\(report.description)")
        }
    }

    /// Batches a writer without its database spooled count once, on top of what was stored.
    @Test func spooledTicksCountOnceOnTopOfTheStoredOnes() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            if try testLayout() == .plain { try db.execute("SELECT akis_ensure_tick_partition('2024-10-30')") }
            let start = Self.istanbul(2024, 10, 30, 10, 0)
            let all = Self.ticks(12_000, symbols: ["GARAN", "AKBNK"], from: 1, start: start, seed: 4)
            let log = StoreLog()
            var options = writerOptions()
            options.finishRetryNanos = 0
            _ = try write(Array(all[..<5_000]), url: url, options: options, log: log)
            // The same spool, with a database that does not answer: the rest stays spooled.
            let blind = try write(Array(all[5_000...]), url: "postgresql://127.0.0.1:1/none?connect_timeout=2", options: options, log: log)
            #expect(blind.dayStatistics == nil)
            let restarted = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { log.append($0) }
            let report = try #require(restarted.dayStatistics, "\(log.all)")
            restarted.finish()
            #expect(report.spooledTicks == 7_000 && report.storedTrades == Int64(all[..<5_000].filter { $0.kind == .trade }.count), "\(report)")
            let expected = Self.model(all)
            for name in ["GARAN", "AKBNK"] {
                let id = Int(storeSymbols.id(for: name)!.rawValue)
                // Spooled ticks keep their nanoseconds; the model has PostgreSQL's microseconds.
                #expect(Self.atMicroseconds(report.statistics.symbols[id]) == expected[id], "\(name)")
            }
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["12000"]])
        }
    }

    /// A daemon that starts while its database is down (its writer spools, its aggregator counts
    /// its own ticks): once PostgreSQL is back and the spool drained, the aggregator takes the
    /// stored day (an earlier run's ticks and the previous close) with this run's ticks counted
    /// once, also the ones that arrived while the store rebuilt it, and not the feed's resend of
    /// what the earlier run stored.
    @Test func aRunStartedWithoutItsDatabaseTakesTheStoredDayOnceItIsBack() throws {
        let pg = try PrivatePostgres()
        let layout = try testLayout()
        do {
            let db = try migrated(pg.url)
            if layout == .plain { for day in ["2024-10-28", "2024-10-30"] { try db.execute("SELECT akis_ensure_tick_partition('\(day)')") } }
        }
        let monday = Self.ticks(2_000, symbols: ["GARAN", "AKBNK"], from: 1, start: Self.istanbul(2024, 10, 28, 10, 0), seed: 5)
        let wednesday = Self.ticks(24_000, symbols: ["GARAN", "AKBNK", "ASELS"], from: 2_001, start: Self.istanbul(2024, 10, 30, 10, 0), seed: 6)
        let log = StoreLog()
        _ = try write(monday + Array(wednesday[..<6_000]), url: pg.url, options: writerOptions(), log: log)

        try pg.stop()
        var options = writerOptions()
        options.flushIntervalNanos = 10_000_000
        options.retryInitialNanos = 20_000_000
        options.retryMaximumNanos = 200_000_000
        let writer = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), schema: SchemaGate(open: layout), options: options) { log.append($0) }
        #expect(writer.dayStatistics == nil)
        let aggregator = AggregationStage(symbolCount: storeSymbols.count, outlets: [], stored: writer.storedStatistics) { log.append($0) }
        // The pipeline's order: the store lane gets each batch before the aggregator takes it.
        func feed(_ ticks: ArraySlice<Tick>) {
            ticks.withUnsafeBufferPointer { b in
                writer.consume(b)
                aggregator.process(b, now: Clock.monotonicNanos())
            }
        }
        // The feed starts again 1,000 ticks back (stored already), then goes on.
        var next = 5_000
        while next < 10_000 { feed(wednesday[next..<next + 500]); next += 500 }
        #expect(writer.storedTicks.load(ordering: .relaxed) == 0)
        try pg.start()
        let deadline = Date().addingTimeInterval(60)
        while !log.all.contains(where: { $0.contains("once PostgreSQL was back") }) && next < 20_000 && Date() < deadline {
            feed(wednesday[next..<next + 100])
            next += 100
            sleepBlocking(.microseconds(20_000))
            aggregator.idle(now: Clock.monotonicNanos())
        }
        #expect(log.all.contains { $0.contains("once PostgreSQL was back (this run's first ") }, "\(log.all.suffix(8))")
        // A reconnect replays ticks the earlier run stored and this run had not seen: not counted.
        feed(wednesday[4_000..<5_000])
        feed(wednesday[next...])
        writer.finish()
        aggregator.finish()

        let stored = try LibpqConnection(conninfo: pg.url)
        #expect(try stored.execute("SELECT count(*), count(DISTINCT seq) FROM market_ticks").rows == [["26000", "26000"]])
        #expect(writer.alreadyStored.load(ordering: .relaxed) == 2_000)
        let expected = Self.model(monday + wednesday)
        let served = aggregator.latest.snapshot()
        for name in ["GARAN", "AKBNK", "ASELS"] {
            let id = Int(storeSymbols.id(for: name)!.rawValue)
            // Ticks of this run keep their nanoseconds; the model has PostgreSQL's microseconds.
            let figures = Self.atMicroseconds(served.symbols[id])
            #expect(figures == expected[id], "\(name): \(figures) against \(expected[id])")
            #expect(figures.previousClose != nil || name == "ASELS", "\(name): Monday's close")
        }
        try pg.stop()
    }
}
