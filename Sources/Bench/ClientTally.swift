import Ingest

/// What one bench subscriber received, checked against the feed it was sent.
///
/// A tick is on time if it is the next one of its symbol after the last one received (by the
/// feed's `previousOfSymbol`); otherwise the ticks skipped count as a gap, and a tick at or before
/// the last one of its symbol as out of order. Latency is receive time − scheduled send time, both
/// on the bench's clock.
public struct ClientTally: Sendable {
    public private(set) var ticks: UInt64 = 0
    public private(set) var candles: UInt64 = 0
    public private(set) var gaps: UInt64 = 0
    public private(set) var missingInGaps: UInt64 = 0
    public private(set) var outOfOrder: UInt64 = 0
    /// Ticks whose symbol or sequence is not the bench's, or that the client did not subscribe to.
    public private(set) var unexpected: UInt64 = 0
    public private(set) var errors: [String] = []
    public private(set) var latency = LatencyHistogram()
    /// Last tick index received per symbol (-1: none yet).
    private var lastIndex: [Int32]

    public init(symbolCount: Int) {
        lastIndex = Array(repeating: -1, count: symbolCount)
    }

    /// Counts one tick message: `latencyNanos` is receive time − the tick's scheduled time.
    public mutating func tick(symbol: SymbolID?, sequence: UInt64, latencyNanos: Int64, feed: BenchFeed) {
        guard let symbol, sequence >= feed.firstSequence, sequence - feed.firstSequence < UInt64(feed.ticks.count) else {
            unexpected += 1
            return
        }
        let index = Int32(sequence - feed.firstSequence)
        let s = Int(symbol.rawValue)
        guard feed.ticks[Int(index)].symbol == symbol else { unexpected += 1; return }
        ticks += 1
        latency.record(nanos: latencyNanos)
        let last = lastIndex[s]
        if index <= last { outOfOrder += 1; return }
        let previous = feed.previousOfSymbol[Int(index)]
        if previous != last {
            gaps += 1
            var missing: UInt64 = 0
            var i = previous
            while i > last { missing += 1; i = feed.previousOfSymbol[Int(i)] }
            missingInGaps += missing
        }
        lastIndex[s] = index
    }

    public mutating func candle() { candles += 1 }

    public mutating func error(_ text: String) {
        if errors.count < 10 { errors.append(text) }
    }

    /// Ticks of `subscription` among those `sent` (default: the whole feed) never received after
    /// the last one that was: a loss at the end of the stream, which no later tick reveals as a gap.
    public func missingAtEnd(subscription: [SymbolID], feed: BenchFeed, sent: SentTicks? = nil) -> UInt64 {
        var missing: UInt64 = 0
        let lastOfSymbol = (sent ?? feed.sent(feed.ticks.count)).lastOfSymbol
        for symbol in subscription {
            var i = lastOfSymbol[Int(symbol.rawValue)]
            while i > lastIndex[Int(symbol.rawValue)] { missing += 1; i = feed.previousOfSymbol[Int(i)] }
        }
        return missing
    }
}
