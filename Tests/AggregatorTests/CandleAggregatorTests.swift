import Aggregator
import Ingest
import Testing

/// 2024-09-24T10:00:00Z, a minute boundary.
let ten: Int64 = 1_727_172_000_000_000_000
let second = UTCTime.nanosPerSecond
let minute = Candle.minuteNanos
let garan = SymbolID(0), akbnk = SymbolID(1)

func trade(_ symbol: SymbolID = garan, at time: Int64, price: Int64, quantity: Int64 = 100, seq: UInt64) -> Tick {
    Tick(symbol: symbol, kind: .trade, price: Price(units: price), quantity: quantity, exchangeTime: time, receiveTime: time, sequence: seq, feed: 1)
}

func quote(_ symbol: SymbolID = garan, at time: Int64, seq: UInt64) -> Tick {
    Tick(symbol: symbol, kind: .quote, price: .zero, quantity: 0, bid: Price(units: 1_000_000), ask: Price(units: 1_010_000),
         exchangeTime: time, receiveTime: time, sequence: seq, feed: 1)
}

/// Runs ticks through an aggregator (wall clock = each tick's receive time) and collects events.
struct Run {
    var aggregator = CandleAggregator()
    var events: [CandleAggregator.Event] = []

    mutating func add(_ ticks: Tick...) {
        for t in ticks { aggregator.add(t, now: t.receiveTime) { events.append($0) } }
    }

    var closed: [Candle] { events.compactMap { if case .closed(let c) = $0 { c } else { nil } } }
    var corrected: [Candle] { events.compactMap { if case .corrected(let c) = $0 { c } else { nil } } }
}

@Suite struct CandleAggregatorTests {
    @Test func aTradeAtExactlyTheMinuteBelongsToThatMinute() {
        var r = Run()
        r.add(trade(at: ten - 1, price: 10_000_000, seq: 1), trade(at: ten, price: 11_000_000, seq: 2),
              trade(at: ten + minute - 1, price: 12_000_000, seq: 3), trade(at: ten + minute, price: 13_000_000, seq: 4))
        r.aggregator.closeAll { r.events.append($0) }
        #expect(r.closed.map(\.start) == [ten - minute, ten, ten + minute])
        #expect(r.closed[1].open == Price(units: 11_000_000) && r.closed[1].close == Price(units: 12_000_000) && r.closed[1].tradeCount == 2)
    }

    @Test func ohlcvAndExactVWAP() {
        var r = Run()
        // 3 × 10.000001 and 1 × 10.000002 (units of 10⁻⁶): VWAP 10.00000125 → 10.000001 (half away rounds up only from .5).
        r.add(trade(at: ten + 1 * second, price: 10_000_001, quantity: 3, seq: 1), trade(at: ten + 2 * second, price: 10_000_002, quantity: 1, seq: 2))
        // 1 × 1 and 1 × 2: VWAP 1.5 units → 2 (half away from zero).
        r.add(trade(akbnk, at: ten + 1 * second, price: 1, quantity: 1, seq: 3), trade(akbnk, at: ten + 2 * second, price: 2, quantity: 1, seq: 4))
        r.aggregator.closeAll { r.events.append($0) }
        let g = r.closed.first { $0.symbol == garan }!, a = r.closed.first { $0.symbol == akbnk }!
        #expect(g.volume == 4 && g.turnover == 40_000_005 && g.vwap == Price(units: 10_000_001))
        #expect(a.turnover == 3 && a.vwap == Price(units: 2))
        // Turnover that would overflow 64 bits stays exact.
        var big = Candle(trade: trade(at: ten, price: 9_000_000_000_000, quantity: 4_000_000_000, seq: 1))
        big.add(trade(at: ten + 1, price: 9_000_000_000_001, quantity: 4_000_000_000, seq: 2))
        #expect(big.turnover == Int128(72_000_000_000_004) * 1_000_000_000)
        #expect(big.vwap == Price(units: 9_000_000_000_001), "exactly .5 rounds away from zero")
    }

    @Test func outOfOrderTradesTakeTheirPlaceBySequence() {
        var r = Run()
        r.add(trade(at: ten + 5 * second, price: 20_000_000, seq: 12), trade(at: ten + 1 * second, price: 19_000_000, seq: 10),
              trade(at: ten + 9 * second, price: 25_000_000, seq: 14), trade(at: ten + 7 * second, price: 18_000_000, seq: 13))
        r.aggregator.closeAll { r.events.append($0) }
        let c = r.closed[0]
        #expect(c.open == Price(units: 19_000_000) && c.close == Price(units: 25_000_000))
        #expect(c.high == Price(units: 25_000_000) && c.low == Price(units: 18_000_000))
        #expect(c.firstSequence == 10 && c.lastSequence == 14 && c.tradeCount == 4)
    }

    @Test func aCandleClosesAfterTheGraceNotBefore() {
        var r = Run()
        r.add(trade(at: ten + 30 * second, price: 1_000_000, seq: 1))
        r.add(trade(at: ten + minute + 1 * second, price: 1_000_000, seq: 2))
        #expect(r.closed.isEmpty, "within the 2 s grace")
        r.add(trade(at: ten + minute + 1_999_999_999, price: 1_100_000, seq: 3))
        #expect(r.closed.isEmpty)
        r.add(quote(at: ten + minute + 2 * second, seq: 4))
        #expect(r.closed.map(\.start) == [ten], "a quote's time moves the market on")
        #expect(r.aggregator.openCandles(garan).map(\.start) == [ten + minute])
    }

    @Test func quotesNeverMakeOrMoveACandle() {
        var r = Run()
        r.add(quote(at: ten + 1 * second, seq: 1), quote(at: ten + 2 * second, seq: 2), quote(at: ten + 3 * minute, seq: 3))
        r.aggregator.closeAll { r.events.append($0) }
        #expect(r.events.isEmpty, "a minute with only quotes has no candle")
    }

    @Test func lateTradesCorrectWithinTheAllowedLatenessAndAreCountedAfter() {
        var options = CandleAggregator.Options()
        options.allowedLatenessNanos = 120 * second
        var r = Run(aggregator: CandleAggregator(options: options))
        r.add(trade(at: ten + 10 * second, price: 10_000_000, seq: 1), trade(at: ten + minute + 5 * second, price: 11_000_000, seq: 3))
        #expect(r.closed.map(\.start) == [ten])
        // Late but within 120 s of the minute's end: the candle is corrected.
        r.add(trade(at: ten + 50 * second, price: 12_000_000, quantity: 7, seq: 2))
        #expect(r.corrected.count == 1)
        #expect(r.corrected[0].high == Price(units: 12_000_000) && r.corrected[0].volume == 107 && r.corrected[0].tradeCount == 2)
        #expect(r.corrected[0].close == Price(units: 12_000_000), "seq 2 is now the last of the minute")
        // A late trade for a minute that had no candle creates it, as a correction.
        r.add(trade(at: ten - 30 * second, price: 9_000_000, seq: 0))
        #expect(r.corrected.last?.start == ten - minute)
        // Too late: counted, not applied.
        r.add(trade(at: ten + 3 * minute, price: 11_000_000, seq: 4), trade(at: ten + 40 * second, price: 99_000_000, seq: 5))
        #expect(r.closed.map(\.start) == [ten, ten + minute])
        #expect(r.aggregator.lateTrades == 1)
        #expect(r.events.last == .late(CandleKey(symbol: garan, start: ten)), "the store is told to rebuild that candle")
        #expect(r.corrected.count == 2)
    }

    @Test func aQuietSymbolClosesOnTheWatermark() {
        var r = Run()
        r.add(trade(akbnk, at: ten + 10 * second, price: 1_000_000, seq: 1))
        // GARAN trades on; AKBNK is silent. The market passing 10:01:02 closes AKBNK's 10:00.
        r.add(trade(at: ten + minute + 2 * second, price: 2_000_000, seq: 2))
        #expect(r.closed.map(\.symbol) == [akbnk])
        // With no tick at all, the wall clock moves the watermark on.
        var quiet = CandleAggregator()
        var events: [CandleAggregator.Event] = []
        let received = ten + 500 * second  // a replay: the wall clock is far from the exchange time
        quiet.add(Tick(symbol: garan, kind: .trade, price: Price(units: 1), quantity: 1, exchangeTime: ten + 59 * second,
                       receiveTime: received, sequence: 1, feed: 1), now: received) { events.append($0) }
        #expect(events.isEmpty, "bucketed by exchange time, not today's clock")
        quiet.tick(now: received + 2_999_999_999) { events.append($0) }
        #expect(events.isEmpty)
        quiet.tick(now: received + 3 * second) { events.append($0) }
        #expect(events.count == 1)
    }

    @Test func aDayChangeIsJustAnotherMinute() {
        let midnight: Int64 = 1_727_222_400_000_000_000  // 2024-09-25T00:00:00Z
        var r = Run()
        r.add(trade(at: midnight - 1, price: 5_000_000, seq: 1), trade(at: midnight, price: 6_000_000, seq: 2))
        r.aggregator.closeAll { r.events.append($0) }
        #expect(r.closed.map(\.start) == [midnight - minute, midnight])
    }

    /// Many symbols interleaved: every candle equals the one computed from that symbol's trades
    /// of that minute alone.
    @Test func manySymbolsInterleavedMatchAGroupBy() {
        var rng = SystemRandomNumberGenerator()
        var ticks: [Tick] = []
        var seq: UInt64 = 0
        for i in 0..<20_000 {
            seq += 1
            let symbol = SymbolID(UInt32.random(in: 0..<30, using: &rng))
            let time = ten + Int64(i) * 20_000_000 + Int64.random(in: 0..<5_000_000, using: &rng)
            ticks.append(i % 5 == 0 ? quote(symbol, at: time, seq: seq)
                : trade(symbol, at: time, price: Int64.random(in: 1...100_000_000, using: &rng), quantity: Int64.random(in: 1...10_000, using: &rng), seq: seq))
        }
        var r = Run()
        for t in ticks { r.add(t) }
        r.aggregator.closeAll { r.events.append($0) }
        #expect(r.corrected.isEmpty && r.aggregator.lateTrades == 0)
        let groups = Dictionary(grouping: ticks.filter { $0.kind == .trade }) { "\($0.symbol.rawValue)/\(Candle.minute(of: $0.exchangeTime))" }
        #expect(r.closed.count == groups.count)
        for c in r.closed {
            let trades = groups["\(c.symbol.rawValue)/\(c.start)"]!.sorted { $0.sequence < $1.sequence }
            #expect(c.open == trades.first!.price && c.close == trades.last!.price)
            #expect(c.high == trades.map(\.price).max()! && c.low == trades.map(\.price).min()!)
            #expect(c.volume == trades.reduce(0) { $0 + $1.quantity } && c.tradeCount == Int64(trades.count))
            #expect(c.turnover == trades.reduce(Int128(0)) { $0 + Int128($1.price.units) * Int128($1.quantity) })
        }
    }
}
