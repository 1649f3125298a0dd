import Ingest
import Testing
@testable import Bench

@Suite struct ClientTallyTests {
    /// Ticks for symbols 0,1,0,0,1,0 at 1 ms apart, numbered from 100.
    let feed: BenchFeed = {
        let symbols = try! SymbolTable(["GARAN", "AKBNK"])
        let pattern: [UInt32] = [0, 1, 0, 0, 1, 0]
        let ticks = pattern.enumerated().map { i, s in
            Tick(symbol: SymbolID(s), kind: .trade, price: Price(units: 10_000), quantity: 1, exchangeTime: 5_000_000_000 + Int64(i) * 1_000_000)
        }
        return BenchFeed(symbols: symbols, ticks: ticks, firstSequence: 100)
    }()

    @Test func feedIsRenumberedAndScheduledFromZero() {
        #expect(feed.ticks.map(\.sequence) == [100, 101, 102, 103, 104, 105])
        #expect(feed.ticks.map(\.exchangeTime) == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000])
        #expect(feed.previousOfSymbol == [-1, -1, 0, 2, 1, 3])
        #expect(feed.ticksPerSymbol == [4, 2])
        #expect(feed.expectedTicks(for: [SymbolID(0)]) == 4)
        #expect(feed.expectedTicks(for: [SymbolID(0), SymbolID(1)]) == 6)
    }

    @Test func everyTickInOrderIsNoGap() {
        var tally = ClientTally(symbolCount: 2)
        for (i, t) in feed.ticks.enumerated() where t.symbol == SymbolID(0) {
            tally.tick(symbol: t.symbol, sequence: 100 + UInt64(i), latencyNanos: 1_000_000, feed: feed)
        }
        #expect(tally.ticks == 4)
        #expect(tally.gaps == 0 && tally.outOfOrder == 0 && tally.unexpected == 0)
        #expect(tally.missingAtEnd(subscription: [SymbolID(0)], feed: feed) == 0)
        #expect(tally.latency.summary.p50 >= 999_000 && tally.latency.summary.p50 <= 1_001_000)
    }

    @Test func skippedTicksAreAGapAndTheirCount() {
        var tally = ClientTally(symbolCount: 2)
        // Symbol 0: indexes 0, 2, 3, 5; receive 0 then 5 (2 and 3 lost).
        tally.tick(symbol: SymbolID(0), sequence: 100, latencyNanos: 0, feed: feed)
        tally.tick(symbol: SymbolID(0), sequence: 105, latencyNanos: 0, feed: feed)
        #expect(tally.gaps == 1)
        #expect(tally.missingInGaps == 2)
        // The first tick of a symbol missed is a gap too.
        tally.tick(symbol: SymbolID(1), sequence: 104, latencyNanos: 0, feed: feed)
        #expect(tally.gaps == 2)
        #expect(tally.missingInGaps == 3)
    }

    @Test func lossAtTheEndIsCountedWithoutALaterTick() {
        var tally = ClientTally(symbolCount: 2)
        tally.tick(symbol: SymbolID(0), sequence: 100, latencyNanos: 0, feed: feed)
        tally.tick(symbol: SymbolID(0), sequence: 102, latencyNanos: 0, feed: feed)
        #expect(tally.missingAtEnd(subscription: [SymbolID(0)], feed: feed) == 2)
        #expect(tally.missingAtEnd(subscription: [SymbolID(0), SymbolID(1)], feed: feed) == 4)
        // Of the first four sent (symbols 0,1,0,0): symbol 0's index 3 is missing, symbol 1's index 1.
        let sent = feed.sent(4)
        #expect(sent.perSymbol == [3, 1] && sent.lastOfSymbol == [3, 1])
        #expect(sent.expected(for: [SymbolID(0), SymbolID(1)]) == 4)
        #expect(tally.missingAtEnd(subscription: [SymbolID(0), SymbolID(1)], feed: feed, sent: sent) == 2)
        #expect(feed.sent(0).lastOfSymbol == [-1, -1] && feed.sent(99).count == 6)
    }

    @Test func duplicatesForeignAndMislabelledTicks() {
        var tally = ClientTally(symbolCount: 2)
        tally.tick(symbol: SymbolID(0), sequence: 102, latencyNanos: 0, feed: feed)
        tally.tick(symbol: SymbolID(0), sequence: 102, latencyNanos: 0, feed: feed)  // again
        tally.tick(symbol: SymbolID(0), sequence: 100, latencyNanos: 0, feed: feed)  // older
        #expect(tally.outOfOrder == 2)
        tally.tick(symbol: SymbolID(0), sequence: 99, latencyNanos: 0, feed: feed)   // before the feed
        tally.tick(symbol: SymbolID(0), sequence: 106, latencyNanos: 0, feed: feed)  // after it
        tally.tick(symbol: SymbolID(1), sequence: 103, latencyNanos: 0, feed: feed)  // 103 is symbol 0
        tally.tick(symbol: nil, sequence: 101, latencyNanos: 0, feed: feed)          // unknown symbol
        #expect(tally.unexpected == 4)
        #expect(tally.ticks == 3)
    }
}
