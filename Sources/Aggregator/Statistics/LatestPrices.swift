import Ingest
import Synchronization

/// The latest state of every symbol, published by the pipeline thread a few times a second and
/// read by any thread (the HTTP API, the fan-out's snapshot on subscribe) without a database round
/// trip. The pipeline thread takes the lock once per publication, never per tick.
public final class LatestPrices: Sendable {
    /// What readers see.
    public struct Snapshot: Sendable {
        /// Indexed by symbol id.
        public var symbols: [SymbolStatistics]
        /// The market's time (the aggregator's watermark) when published; 0 before any tick.
        public var marketTime: Int64
        /// The trading day at `marketTime`.
        public var tradingDay: TradingDay?
        /// Per consumer lane of the aggregator's candle outlets: how many ticks it had been handed
        /// when this was published. The state includes exactly those ticks (and the ones that lane
        /// dropped), so a consumer can tell which of its ticks a snapshot already covers.
        var laneStamps: [(lane: ObjectIdentifier, delivered: UInt64)] = []

        /// The ticks of `lane` this state includes: the first `stamp(of:)` it was handed. Nil
        /// before the first publication or for a lane the aggregator does not feed.
        public func stamp(of lane: ConsumerLane) -> UInt64? {
            laneStamps.first { $0.lane == ObjectIdentifier(lane) }?.delivered
        }
    }

    private let state: Mutex<Snapshot>

    public init(symbolCount: Int) {
        state = Mutex(Snapshot(symbols: (0..<symbolCount).map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }, marketTime: 0, tradingDay: nil))
    }

    /// The current state of the given symbols (all of them when `ids` is nil); a symbol the
    /// aggregator has not seen yet has empty statistics.
    public func snapshot(_ ids: [SymbolID]? = nil) -> Snapshot {
        state.withLock { s in
            guard let ids else { return s }
            return Snapshot(symbols: ids.map { Int($0.rawValue) < s.symbols.count ? s.symbols[Int($0.rawValue)] : SymbolStatistics(symbol: $0) },
                            marketTime: s.marketTime, tradingDay: s.tradingDay, laneStamps: s.laneStamps)
        }
    }

    /// Pipeline side: copies the changed entries of `symbols` in.
    func publish(_ symbols: inout [SymbolStatistics], changed: inout [Int], marketTime: Int64, tradingDay: TradingDay?,
                 lanes: [ConsumerLane]) {
        state.withLock { s in
            // Symbols that joined the universe since.
            for i in s.symbols.count..<max(s.symbols.count, symbols.count) { s.symbols.append(SymbolStatistics(symbol: SymbolID(UInt32(i)))) }
            for i in changed where i < s.symbols.count {
                symbols[i].changed = false
                s.symbols[i] = symbols[i]
            }
            s.marketTime = marketTime
            s.tradingDay = tradingDay
            // The pipeline thread is the one that hands ticks to the lanes: the counts are current.
            s.laneStamps = lanes.map { (ObjectIdentifier($0), $0.delivered.load(ordering: .relaxed)) }
        }
        changed.removeAll(keepingCapacity: true)
    }
}
