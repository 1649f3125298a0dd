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

    @Test func topOfBookSnapshotsFollowMarketTimeAndOnlyChangedSymbols() {
        let lane = ConsumerLane(name: "store", capacity: 1024, policy: .block)
        let snapshots = SnapshotOutlet(capacity: 1024)
        let stage = AggregationStage(symbolCount: 2, outlets: [CandleOutlet(lane: lane)], snapshots: snapshots) { _ in }
        func send(_ ticks: Tick...) { ticks.withUnsafeBufferPointer { stage.process($0, now: 0) } }
        func taken() -> [BookSnapshot] {
            var out: [BookSnapshot] = []
            _ = snapshots.ring.drain(maximum: .max) { out.append(contentsOf: $0) }
            return out
        }
        send(trade(at: ten + 3 * second, price: 10_000_000, quantity: 5, seq: 1), quote(akbnk, at: ten + 4 * second, seq: 2))
        var s = taken()
        #expect(s.map(\.time) == [ten, ten], "the first tick starts the series, at the interval's start")
        #expect(s[0].lastPrice == Price(units: 10_000_000) && s[0].volume == 5 && s[0].bid == .zero)
        #expect(s[1].lastPrice == .zero && s[1].bid == Price(units: 1_000_000) && s[1].ask == Price(units: 1_010_000))
        send(trade(at: ten + 9 * second, price: 10_100_000, seq: 3))
        #expect(taken().isEmpty, "within the interval")
        send(trade(at: ten + 12 * second, price: 10_200_000, seq: 4))
        s = taken()
        #expect(s.count == 1 && s[0].symbol == garan && s[0].time == ten + 10 * second && s[0].tradeCount == 3,
                "only GARAN changed; AKBNK's book is as it was")
        stage.finish()
        #expect(taken().isEmpty, "nothing changed since")
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
