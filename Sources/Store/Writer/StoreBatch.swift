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
}
