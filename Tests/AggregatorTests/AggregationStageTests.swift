import Aggregator
import Ingest
import RingBuffer
import Testing

@Suite struct AggregationStageTests {
    /// Runs ticks through a stage as the pipeline does: the lane gets the batch first, then the stage.
    final class Harness {
        let lane = ConsumerLane(name: "store", capacity: 1024, policy: .block)
        let outlet: CandleOutlet
        let stage: AggregationStage

        init(symbols: Int = 2) {
            outlet = CandleOutlet(lane: lane, capacity: 1024)
            stage = AggregationStage(symbolCount: symbols, outlets: [outlet]) { _ in }
        }

        func send(_ ticks: [Tick], now: Int64) {
            ticks.withUnsafeBufferPointer {
                _ = lane.offer($0)
                stage.process($0, now: now)
            }
        }

        func updates() -> [CandleUpdate] {
            var out: [CandleUpdate] = []
            _ = outlet.ring.drain(maximum: .max) { out.append(contentsOf: $0) }
            return out
        }
    }

    @Test func candleUpdatesAreStampedWithTheTicksBeforeThem() {
        let h = Harness()
        h.send([trade(at: ten + second, price: 10_000_000, seq: 1), trade(at: ten + 30 * second, price: 11_000_000, seq: 2)], now: 0)
        #expect(h.updates().isEmpty)
        // The next minute plus the grace: the first candle closes, stamped after the three ticks.
        h.send([trade(at: ten + minute + 3 * second, price: 12_000_000, seq: 3)], now: 0)
        let closed = h.updates()
        #expect(closed.count == 1 && closed[0].kind == .closed && closed[0].stamp == 3 && closed[0].candle.start == ten)
        #expect(closed[0].candle.close == Price(units: 11_000_000))
        // A trade far too late asks the store to rebuild its minute, once per burst.
        h.send([trade(at: ten + 5 * minute, price: 12_000_000, seq: 4)], now: 0)
        _ = h.updates()
        h.send([trade(at: ten + 2 * second, price: 1_000_000, seq: 5), trade(at: ten + 3 * second, price: 1_000_000, seq: 6)], now: 0)
        let late = h.updates()
        #expect(late.map(\.kind) == [.rebuild] && late[0].candle.key == CandleKey(symbol: garan, start: ten) && late[0].stamp == 6)
        #expect(h.stage.lateTrades.load(ordering: .relaxed) == 0, "published with the latest state, not per tick")
        h.stage.finish()
        #expect(h.stage.lateTrades.load(ordering: .relaxed) == 2)
        #expect(h.updates().map(\.kind) == [.closed], "finish closes what is open")
    }

    /// A stage with snapshots, fed as the pipeline feeds it.
    final class SnapshotHarness {
        let snapshots = SnapshotOutlet(capacity: 1 << 14)
        let stage: AggregationStage

        init() {
            stage = AggregationStage(symbolCount: 2, outlets: [CandleOutlet(lane: ConsumerLane(name: "store", capacity: 1 << 16, policy: .block))],
                                     snapshots: snapshots) { _ in }
        }

        func send(_ ticks: [Tick], now: Int64 = 0) { ticks.withUnsafeBufferPointer { stage.process($0, now: now) } }

        func taken() -> [BookSnapshot] {
            var out: [BookSnapshot] = []
            _ = snapshots.ring.drain(maximum: .max) { out.append(contentsOf: $0) }
            return out
        }
    }

    @Test func topOfBookSnapshotsAreCutWhereTheMarketPassesTheirTimeAndOnlyForChangedSymbols() {
        let h = SnapshotHarness()
        h.send([trade(at: ten + 3 * second, price: 10_000_000, quantity: 5, seq: 1), quote(akbnk, at: ten + 4 * second, seq: 2)])
        #expect(h.taken().isEmpty, "the first tick starts the series; the market has not reached 10:00:10")
        // One batch crossing 10:00:10: the snapshot holds the ticks before it, not the one after.
        h.send([trade(at: ten + 9 * second, price: 10_100_000, seq: 3), trade(at: ten + 12 * second, price: 10_200_000, seq: 4)])
        var s = h.taken()
        #expect(s.map(\.time) == [ten + 10 * second, ten + 10 * second])
        #expect(s[0].lastPrice == Price(units: 10_100_000) && s[0].volume == 5 + 100 && s[0].tradeCount == 2 && s[0].bid == .zero)
        #expect(s[1].lastPrice == .zero && s[1].bid == Price(units: 1_000_000) && s[1].ask == Price(units: 1_010_000))
        // Quiet until 10:00:47: one row, at the first time passed (10:00:20), for GARAN only.
        h.stage.idle(now: ten + 40 * second)
        #expect(h.taken().isEmpty, "the wall clock never cuts a snapshot")
        h.send([trade(at: ten + 47 * second, price: 10_300_000, seq: 5)])
        s = h.taken()
        #expect(s.count == 1 && s[0].symbol == garan && s[0].time == ten + 20 * second && s[0].tradeCount == 3,
                "only GARAN changed; AKBNK's book is as it was")
        h.stage.finish()
        #expect(h.taken().isEmpty, "the market never reached 10:00:50")
    }

    /// The same ticks in one batch, or one at a time with the wall clock running far ahead in
    /// between, give the same snapshots; each is what the ticks before its time add up to.
    @Test func snapshotsAreTheSameAtAnyFeedSpeed() {
        var r = SplitMix64(seed: 5)
        var time = ten
        let ticks: [Tick] = (1...3_000).map { i in
            time += Int64(r.next() % 400_000_000)
            let symbol = r.next() % 2 == 0 ? garan : akbnk
            let bid = Int64(1_000_000 + r.next() % 1_000)
            return r.next() % 4 == 0
                ? Tick(symbol: symbol, kind: .quote, price: .zero, quantity: 0, bid: Price(units: bid), ask: Price(units: bid + 10_000),
                       exchangeTime: time, sequence: UInt64(i))
                : Tick(symbol: symbol, kind: .trade, price: Price(units: Int64(10_000_000 + r.next() % 100_000)), quantity: Int64(1 + r.next() % 9),
                       exchangeTime: time, sequence: UInt64(i))
        }
        let oneWrite = SnapshotHarness()
        oneWrite.send(ticks, now: ten)
        oneWrite.stage.finish()
        let paced = SnapshotHarness()
        for (i, t) in ticks.enumerated() {
            paced.send([t], now: t.exchangeTime + Int64(i % 3) * 7 * second)
            paced.stage.idle(now: t.exchangeTime + 30 * second)
        }
        paced.stage.finish()
        let rows = oneWrite.taken()
        #expect(rows.count > 100 && rows == paced.taken())
        for row in rows {
            let before = ticks.filter { $0.symbol == row.symbol && $0.exchangeTime < row.time }
            let trades = before.filter { $0.kind == .trade }
            let quote = before.last { $0.kind == .quote }
            #expect(row.tradeCount == Int64(trades.count) && row.volume == trades.reduce(0) { $0 + $1.quantity }
                    && row.lastPrice == (trades.last?.price ?? .zero) && row.bid == (quote?.bid ?? .zero) && row.ask == (quote?.ask ?? .zero),
                    "\(row)")
        }
    }

    @Test func latestStateIsPublishedAndQuietSymbolsRollToTheNewDay() throws {
        let h = Harness()
        // Tuesday 24 September 2024, 13:00 Istanbul; then Wednesday's session.
        h.send([trade(at: ten, price: 10_000_000, quantity: 5, seq: 1), trade(akbnk, at: ten + second, price: 20_000_000, seq: 2)], now: 1)
        var s = h.stage.latest.snapshot([garan, akbnk])
        #expect(s.tradingDay?.date == "2024-09-24" && s.symbols[0].lastPrice == Price(units: 10_000_000) && s.symbols[1].volume == 100)
        let wednesday = ten + 86_400 * second
        h.send([trade(at: wednesday, price: 10_500_000, seq: 3)], now: 2_000_000_000)
        s = h.stage.latest.snapshot()
        #expect(s.tradingDay?.date == "2024-09-25")
        #expect(s.symbols[0].previousClose == Price(units: 10_000_000) && s.symbols[0].change == Price(units: 500_000) && s.symbols[0].volume == 100)
        #expect(s.symbols[1].volume == 0 && s.symbols[1].previousClose == Price(units: 20_000_000), "AKBNK did not trade yet today")
        // A trade of Tuesday arriving now goes to candles and storage, not today's figures.
        h.send([trade(akbnk, at: ten + 2 * second, price: 1_000_000, seq: 4)], now: 4_000_000_000)
        h.stage.finish()
        #expect(h.stage.latest.snapshot([akbnk]).symbols[0].volume == 0 && h.stage.previousDayTrades.load(ordering: .relaxed) == 1)
    }
}
