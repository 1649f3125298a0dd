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
    }

    private let state: Mutex<Snapshot>

    public init(symbolCount: Int) {
        state = Mutex(Snapshot(symbols: (0..<symbolCount).map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }, marketTime: 0, tradingDay: nil))
    }

    /// The current state of the given symbols (all of them when `ids` is nil).
    public func snapshot(_ ids: [SymbolID]? = nil) -> Snapshot {
        state.withLock { s in
            guard let ids else { return s }
            return Snapshot(symbols: ids.compactMap { Int($0.rawValue) < s.symbols.count ? s.symbols[Int($0.rawValue)] : nil },
                            marketTime: s.marketTime, tradingDay: s.tradingDay)
        }
    }

    /// Pipeline side: copies the changed entries of `symbols` in.
    func publish(_ symbols: inout [SymbolStatistics], changed: inout [Int], marketTime: Int64, tradingDay: TradingDay?) {
        state.withLock { s in
            for i in changed where i < s.symbols.count {
                symbols[i].changed = false
                s.symbols[i] = symbols[i]
            }
            s.marketTime = marketTime
            s.tradingDay = tradingDay
        }
        changed.removeAll(keepingCapacity: true)
    }
}
