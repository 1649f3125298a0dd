import Foundation
import Ingest
import Logging
import Store
import TestSupport
import Testing

/// The history API's reads against a real PostgreSQL: tick ranges with nanosecond bounds over
/// microsecond storage, and the 5m/1h/1d candle views over stored 1-minute candles.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct MarketHistoryTests {
    @Test func tickRangesSelectExactlyTheStoredRowsInside() async throws {
        try await withScratchDatabase { url in try await withPool(url) { client in
            let db = try migrated(url)
            let ticks = storeTicks(3_000)
            #expect(try copyTicks(ticks, into: db) == 3_000)

            let history = MarketHistory(client: client)
            let garan = storeSymbols.id(for: "GARAN")!
            let mine = ticks.filter { $0.symbol == garan }
            // Bounds that fall inside a microsecond: [from, to) in nanoseconds over µs-truncated times.
            let from = mine[10].exchangeTime / 1000 * 1000 + 1
            let to = mine[60].exchangeTime / 1000 * 1000
            let expected = mine.filter { $0.exchangeTime / 1000 * 1000 >= from && $0.exchangeTime / 1000 * 1000 < to }
            #expect(expected.count == 49)
            let got = try await history.ticks(TickQuery(symbol: "GARAN", fromNanos: from, toNanos: to, limit: 10_000))
            #expect(got.map(\.sequence) == expected.map(\.sequence))
            for (row, t) in zip(got, expected) {
                #expect(row == StoredTick(time: t.exchangeTime / 1000 * 1000, price: t.price, volume: t.quantity,
                                          bid: t.bid == .zero ? nil : t.bid, ask: t.ask == .zero ? nil : t.ask, feed: t.feed,
                                          sequence: t.sequence, kind: t.kind, side: t.side, receiveTime: t.receiveTime / 1000 * 1000))
            }
            let limited = try await history.ticks(TickQuery(symbol: "GARAN", fromNanos: from, toNanos: to, limit: 7))
            #expect(limited.map(\.sequence) == expected.prefix(7).map(\.sequence))
            #expect(try await history.ticks(TickQuery(symbol: "AKBNK", fromNanos: 0, toNanos: 1_000, limit: 10)).isEmpty)
        } }
    }

    /// Pages of any size, each asked with the cursor of the one before, return every tick of the
    /// range exactly once and in order, although many ticks share a microsecond (and some their
    /// microsecond and sequence number, on two feeds).
    @Test func pagingWithTheCursorReturnsEveryTickOnceWhereMicrosecondsAreShared() async throws {
        try await withScratchDatabase { url in try await withPool(url) { client in
            let db = try migrated(url)
            let garan = storeSymbols.id(for: "GARAN")!
            // 600 trades in 23 distinct microseconds (plus nanoseconds that storage drops), on two
            // feeds whose sequence numbers overlap.
            let start: Int64 = 1_727_161_200_000_000_000
            let ticks = (0..<600).map { (i: Int) -> Tick in
                let time: Int64 = start + Int64(i % 23) * 1_000 + Int64(i % 7)
                return Tick(symbol: garan, kind: .trade, price: Price(units: Int64(1_000_000 + i)), quantity: 1,
                            exchangeTime: time, receiveTime: start, sequence: UInt64(i / 2), feed: UInt16(1 + i % 2))
            }
            #expect(try copyTicks(ticks, into: db) == 600)
            func key(_ t: Tick) -> (Int64, UInt16, UInt64) { (t.exchangeTime / 1_000, t.feed, t.sequence) }
            let expected = ticks.sorted { key($0) < key($1) }.map { "\($0.feed)/\($0.sequence)" }
            let history = MarketHistory(client: client)
            for limit in [1, 2, 3, 5, 7, 26, 599, 600, 601, 10_000] {
                var seen: [String] = []
                var after: TickCursor?
                var pages = 0
                repeat {
                    let page = try await history.ticks(TickQuery(symbol: "GARAN", fromNanos: start, toNanos: start + 1_000_000_000, limit: limit, after: after))
                    seen += page.map { "\($0.feed)/\($0.sequence)" }
                    after = page.count == limit ? page.last.map(TickCursor.init(after:)) : nil
                    pages += 1
                } while after != nil && pages <= 700
                #expect(seen == expected, "limit \(limit): \(seen.count) ticks in \(pages) pages")
            }
        } }
    }

    /// A minute candle with consistent OHLC and an exact turnover.
    struct Minute {
        var start: Int64
        var open, high, low, close, volume, trades: Int64
        var turnover: Int64
        var firstSeq, lastSeq: Int64
    }

    func minutes() -> [Minute] {
        var r = SplitMix64(seed: 11)
        // Across a 5-minute edge, an hour edge, and Istanbul's midnight (21:00 UTC).
        let starts = ["2024-09-24T10:03:00Z", "2024-09-24T10:04:00Z", "2024-09-24T10:05:00Z", "2024-09-24T10:59:00Z",
                      "2024-09-24T11:00:00Z", "2024-09-24T20:59:00Z", "2024-09-24T21:00:00Z", "2024-09-24T21:01:00Z"]
        var seq: Int64 = 100
        return starts.map { text in
            var t = text
            let start = t.withUTF8 { UTCTime.parseISO8601(UnsafeRawBufferPointer($0))! }
            let low = Int64(10_000_000 + r.next() % 1_000_000)
            let high = low + Int64(r.next() % 500_000)
            let open = low + Int64(r.next() % UInt64(high - low + 1)), close = low + Int64(r.next() % UInt64(high - low + 1))
            let volume = Int64(1 + r.next() % 10_000), trades = Int64(1 + r.next() % 50)
            let turnover = volume * low + Int64(r.next() % UInt64(volume * (high - low) + 1))
            defer { seq += trades }
            return Minute(start: start, open: open, high: high, low: low, close: close, volume: volume, trades: trades,
                          turnover: turnover, firstSeq: seq, lastSeq: seq + trades - 1)
        }
    }

    /// turnover / volume, rounded half away from zero (both positive here).
    func vwap(_ turnover: Int64, _ volume: Int64) -> Int64 { (2 * turnover + volume) / (2 * volume) }

    /// What a longer candle starting at `start` must be, made of `ms` (in time order).
    func candle(_ start: Int64, _ ms: [Minute]) -> StoredCandle {
        let volume: Int64 = ms.reduce(0) { $0 + $1.volume }
        let turnover: Int64 = ms.reduce(0) { $0 + $1.turnover }
        let trades: Int64 = ms.reduce(0) { $0 + $1.trades }
        let high: Int64 = ms.map(\.high).max()!
        let low: Int64 = ms.map(\.low).min()!
        return StoredCandle(start: start, open: Price(units: ms.first!.open), high: Price(units: high), low: Price(units: low),
                            close: Price(units: ms.last!.close), volume: volume, tradeCount: trades,
                            vwap: Price(units: vwap(turnover, volume)),
                            firstSequence: UInt64(ms.first!.firstSeq), lastSequence: UInt64(ms.last!.lastSeq))
    }

    /// On the layout the server offers: plain views, or TimescaleDB's continuous aggregates (real
    /// time, so the minutes just written count at once).
    @Test func longerCandlesAggregateTheMinutes() async throws {
        try await withScratchDatabase { url in try await withPool(url) { client in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: testLayout()).run(on: db)
            let rows = minutes()
            for m in rows {
                try db.execute("""
                    INSERT INTO market_candles (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq)
                    VALUES ('GARAN', TIMESTAMPTZ 'epoch' + $1::bigint * INTERVAL '1 microsecond', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    """, parameters: [m.start / 1000, m.open, m.high, m.low, m.close, m.volume, m.trades, m.turnover,
                                      vwap(m.turnover, m.volume), m.firstSeq, m.lastSeq].map { String($0) })
            }
            // Another symbol's minutes never mix in.
            try db.execute("INSERT INTO market_candles SELECT 'AKBNK', bucket, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 FROM market_candles")

            let history = MarketHistory(client: client)
            let minute: Int64 = 60_000_000_000, istanbul: Int64 = 3 * 3_600_000_000_000
            let buckets: [(CandleInterval, (Int64) -> Int64)] = [
                (.oneMinute, { $0 }),
                (.fiveMinutes, { $0 / (5 * minute) * (5 * minute) }),
                (.oneHour, { $0 / (60 * minute) * (60 * minute) }),
                (.oneDay, { ($0 + istanbul) / (1_440 * minute) * (1_440 * minute) - istanbul }),
            ]
            for (interval, bucket) in buckets {
                let expected = Dictionary(grouping: rows, by: { bucket($0.start) }).sorted { $0.key < $1.key }.map { candle($0.key, $0.value) }
                let got = try await history.candles(CandleQuery(symbol: "GARAN", interval: interval, fromNanos: rows[0].start - 86_400_000_000_000,
                                                          toNanos: rows.last!.start + 86_400_000_000_000))
                #expect(got == expected, "\(interval)")
            }
            #expect(try await history.candles(CandleQuery(symbol: "GARAN", interval: .oneDay, fromNanos: 0, toNanos: 4_000_000_000_000_000_000)).count == 2,
                    "20:59 UTC is still the 24th in Istanbul; 21:00 is the 25th")
            // [from, to) on the candle's start.
            let fiveMinute = try await history.candles(CandleQuery(symbol: "GARAN", interval: .fiveMinutes, fromNanos: rows[2].start, toNanos: rows[4].start))
            #expect(fiveMinute.map(\.start) == [rows[2].start, rows[3].start / (5 * minute) * (5 * minute)])
        } }
    }
}

/// The exchange's tick size tables, stored from the directory and read back for orders.
@Suite(.offThePool, .timeLimit(.minutes(2))) struct ExchangeInstrumentsTests {
    @Test func theLatestStoredLTableOfASymbolReadsBackAsATable() async throws {
        try await withScratchDatabase { url in try await withPool(url) { client in
            _ = try migrated(url)
            let logger = Logger(label: "test")
            let published = TickSizeTable.bistEquity.bands.map { b in
                BISTOrderBooks.TickSizeBand(tickSize: UInt64(b.step / 1000), from: UInt32(b.from / 1000), to: b.to == .max ? UInt32.max : UInt32(b.to / 1000))
            }
            func entry(_ feed: String, _ book: UInt32, _ symbol: String, _ bands: [BISTOrderBooks.TickSizeBand]) -> ExchangeInstrument {
                ExchangeInstrument(feed: feed, orderBook: book, symbol: symbol, isin: "", priceDecimals: 3, roundLot: 1, tickSizes: bands)
            }
            try await ExchangeInstruments.store([entry("a", 1, "GARAN", published), entry("a", 2, "SASA", [])], on: client, logger: logger)
            #expect(try await ExchangeInstruments.tickSizes(of: "GARAN", on: client, logger: logger) == TickSizeTable.bistEquity)
            #expect(try await ExchangeInstruments.tickSizes(of: "SASA", on: client, logger: logger) == nil, "no L table announced")
            #expect(try await ExchangeInstruments.tickSizes(of: "NOPE", on: client, logger: logger) == nil)
            // Another feed announces GARAN later with its own table: the latest wins.
            try await Task.sleep(for: .milliseconds(10))
            try await ExchangeInstruments.store([entry("b", 9, "GARAN", [.init(tickSize: 5, from: 0, to: UInt32.max)])], on: client, logger: logger)
            let latest = try #require(try await ExchangeInstruments.tickSizes(of: "GARAN", on: client, logger: logger))
            #expect(latest.contains(Price("12.345")!) && !latest.contains(Price("12.343")!))
        } }
    }
}

