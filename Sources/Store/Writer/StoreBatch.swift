import Aggregator
import Ingest

/// One unit of storage: the ticks of one flush and the candles that closed with them, numbered in
/// the order the writer commits them. The number is what makes a retry exactly-once (see
/// `ingest_writers`).
struct StoreBatch: Sendable {
    var number: Int64
    var ticks: [Tick]
    /// The binary COPY stream of `ticks`, when the consumer thread already encoded it; batches read
    /// back from the spool are encoded by the committer.
    var copyData: [UInt8]?
    /// Candles to upsert as the aggregator computed them (one per key).
    var candles: [Candle] = []
    /// Candles to rebuild from the stored trades (late trades, restarts, spooled batches).
    var rebuilds: [CandleKey] = []
    /// Top-of-book snapshots.
    var snapshots: [BookSnapshot] = []

    /// Every candle the batch touches, for the spool (which keeps keys only: rebuilt on drain).
    var candleKeys: [CandleKey] { candles.map(\.key) + rebuilds }

    /// The batch without the ticks whose sequence number is at or below their feed's stored
    /// checkpoint (stored by an earlier run), and how many those were. The candles of their
    /// minutes are rebuilt from what is stored instead of taken as computed.
    func droppingStored(_ checkpoints: [UInt16: UInt64]) -> (batch: StoreBatch, dropped: Int) {
        func stored(_ t: Tick) -> Bool { t.isCovered(by: checkpoints) }
        guard ticks.contains(where: stored) else { return (self, 0) }
        var out = self
        out.ticks = ticks.filter { !stored($0) }
        out.copyData = nil
        let touched = Set(ticks.lazy.filter { stored($0) && $0.kind == .trade }.map { CandleKey(symbol: $0.symbol, start: Candle.minute(of: $0.exchangeTime)) })
        out.candles = candles.filter { !touched.contains($0.key) }
        out.rebuilds = Array(Set(rebuilds).union(touched))
        return (out, ticks.count - out.ticks.count)
    }
}
