import Ingest
import RingBuffer

/// One symbol's top of book and day totals at an instant of market time: a row of
/// `order_book_snapshots`.
public struct BookSnapshot: Sendable, BitwiseCopyable, Equatable {
    public var symbol: SymbolID
    /// The snapshot's market time (a multiple of the snapshot interval), UTC nanoseconds.
    public var time: Int64
    /// `.zero` when absent.
    public var bid: Price
    public var ask: Price
    public var lastPrice: Price
    /// The trading day's volume and trade count so far.
    public var volume: Int64
    public var tradeCount: Int64

    public init(symbol: SymbolID, time: Int64, bid: Price, ask: Price, lastPrice: Price, volume: Int64, tradeCount: Int64) {
        self.symbol = symbol
        self.time = time
        self.bid = bid
        self.ask = ask
        self.lastPrice = lastPrice
        self.volume = volume
        self.tradeCount = tradeCount
    }
}

/// The aggregator's hand-off of top-of-book snapshots to the store writer: an SPSC ring. A full
/// ring makes the pipeline wait, like the store lane.
public final class SnapshotOutlet: Sendable {
    public let ring: SPSCRing<BookSnapshot>

    public init(capacity: Int = 1 << 14) { ring = SPSCRing(minimumCapacity: capacity) }

    func send(_ snapshot: BookSnapshot) {
        var wait = FullRingWait()
        while !ring.push(snapshot) { wait.pause() }
    }
}
