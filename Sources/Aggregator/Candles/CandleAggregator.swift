import Ingest

/// Builds 1-minute candles for every symbol from the pipeline's ticks. Pure logic: no clock, no
/// I/O; the pipeline thread feeds it ticks and the wall-clock time, and it hands out events.
///
/// **Closing.** A candle closes when the market has moved past its minute's end plus
/// `graceNanos`. "The market" is the later of the symbol's own latest exchange time and a
/// watermark: the latest exchange time seen on any symbol, advanced by the wall-clock time that
/// has passed since it was seen. So a quiet symbol's candle still closes, and a recording replayed
/// long after the fact is bucketed by its own times, not by today's clock.
///
/// **Late trades.** A trade for a minute that has closed, but not more than `allowedLatenessNanos`
/// past the minute's end, updates the candle and emits it again as a correction (also when the
/// minute had no candle yet). A later trade is counted in `lateTrades` and reported as `.late`: it
/// is still stored as a tick, and the store's reconciliation rebuilds that candle from the stored
/// trades. Quotes never move a candle, but their
/// exchange time counts as the market moving on. Minutes without a trade have no candle.
public struct CandleAggregator {
    public struct Options: Sendable, Equatable {
        /// How long past a minute's end a candle stays open for trades still in flight.
        public var graceNanos: Int64 = 2 * UTCTime.nanosPerSecond
        /// How long past a minute's end a trade still corrects its candle (at least the grace).
        public var allowedLatenessNanos: Int64 = 60 * UTCTime.nanosPerSecond
        public init() {}
    }

    /// What the aggregator hands out.
    public enum Event: Hashable, Sendable {
        /// A candle closed (first time).
        case closed(Candle)
        /// A closed candle changed (a late trade within the allowed lateness).
        case corrected(Candle)
        /// A trade too late to correct its candle here: the candle must be rebuilt from storage.
        case late(CandleKey)
    }

    public let options: Options
    /// Trades too late to correct their candle (stored as ticks, repaired by reconciliation).
    public private(set) var lateTrades: UInt64 = 0

    private var symbols: [SymbolCandles] = []
    /// The latest exchange time seen on any symbol, and the wall-clock time it was first seen.
    private var latestEventTime = Int64.min
    private var latestEventSeenAt = Int64.min
    /// The market's time: the latest exchange time seen, moved on by the clock since (see above).
    public private(set) var watermark = Int64.min
    /// No open candle on any symbol closes before the watermark reaches this.
    private var earliestClose = Int64.max

    public init(options: Options = Options()) {
        precondition(options.graceNanos >= 0 && options.allowedLatenessNanos >= options.graceNanos,
                     "allowed lateness must be at least the grace period")
        self.options = options
    }

    /// Takes one tick; `now` is the wall-clock time (for the watermark), usually the tick's receive time.
    public mutating func add(_ tick: Tick, now: Int64, emit: (Event) -> Void) {
        if tick.exchangeTime > latestEventTime {
            latestEventTime = tick.exchangeTime
            latestEventSeenAt = now
        }
        advanceWatermark(now: now)
        let index = Int(tick.symbol.rawValue)
        if index >= symbols.count { symbols += Array(repeating: SymbolCandles(), count: index + 1 - symbols.count) }
        symbols[index].latestEventTime = max(symbols[index].latestEventTime, tick.exchangeTime)
        if tick.kind == .trade {
            take(tick, index: index, emit: emit)
        }
        settle(index, emit: emit)
        if watermark >= earliestClose { settleAll(emit: emit) }
    }

    /// Closes what the passing wall-clock time closes (call it when idle, e.g. every 100 ms).
    public mutating func tick(now: Int64, emit: (Event) -> Void) {
        advanceWatermark(now: now)
        if watermark >= earliestClose { settleAll(emit: emit) }
    }

    /// Settles every symbol (the watermark passed some candle's close) and finds the next close.
    private mutating func settleAll(emit: (Event) -> Void) {
        earliestClose = .max
        for i in symbols.indices where !symbols[i].open.isEmpty || !symbols[i].closed.isEmpty {
            settle(i, emit: emit)
            if let first = symbols[i].open.first { earliestClose = min(earliestClose, first.end + options.graceNanos) }
        }
    }

    /// Closes every open candle (at shutdown: what is there is all there will be).
    public mutating func closeAll(emit: (Event) -> Void) {
        for i in symbols.indices {
            for candle in symbols[i].open { emit(.closed(candle)) }
            symbols[i].open.removeAll()
        }
    }

    /// Open candles of a symbol, oldest first.
    public func openCandles(_ symbol: SymbolID) -> [Candle] {
        Int(symbol.rawValue) < symbols.count ? symbols[Int(symbol.rawValue)].open : []
    }

    private mutating func advanceWatermark(now: Int64) {
        guard latestEventTime != .min else { return }
        let (elapsed, overflow) = now.subtractingReportingOverflow(latestEventSeenAt)
        watermark = max(watermark, latestEventTime &+ (overflow ? 0 : max(0, elapsed)))
    }

    private func horizon(_ index: Int) -> Int64 { max(symbols[index].latestEventTime, watermark) }

    private mutating func take(_ trade: Tick, index: Int, emit: (Event) -> Void) {
        let start = Candle.minute(of: trade.exchangeTime)
        let end = start + Candle.minuteNanos
        let now = horizon(index)
        if let i = symbols[index].open.firstIndex(where: { $0.start == start }) {
            symbols[index].open[i].add(trade)
        } else if end + options.graceNanos > now {
            let at = symbols[index].open.firstIndex { $0.start > start } ?? symbols[index].open.endIndex
            symbols[index].open.insert(Candle(trade: trade), at: at)
            earliestClose = min(earliestClose, end + options.graceNanos)
        } else if end + options.allowedLatenessNanos > now {
            let candle: Candle
            if let i = symbols[index].closed.firstIndex(where: { $0.start == start }) {
                symbols[index].closed[i].add(trade)
                candle = symbols[index].closed[i]
            } else {
                candle = Candle(trade: trade)
                let at = symbols[index].closed.firstIndex { $0.start > start } ?? symbols[index].closed.endIndex
                symbols[index].closed.insert(candle, at: at)
            }
            emit(.corrected(candle))
        } else {
            lateTrades += 1
            emit(.late(CandleKey(symbol: trade.symbol, start: start)))
        }
    }

    /// Closes the symbol's candles whose grace has passed, and forgets closed ones past lateness.
    private mutating func settle(_ index: Int, emit: (Event) -> Void) {
        let now = horizon(index)
        while let first = symbols[index].open.first, first.end + options.graceNanos <= now {
            symbols[index].open.removeFirst()
            emit(.closed(first))
            if first.end + options.allowedLatenessNanos > now {
                let at = symbols[index].closed.firstIndex { $0.start > first.start } ?? symbols[index].closed.endIndex
                symbols[index].closed.insert(first, at: at)
            }
        }
        while let first = symbols[index].closed.first, first.end + options.allowedLatenessNanos <= now {
            symbols[index].closed.removeFirst()
        }
    }
}

/// One symbol's candle state: the open candles (usually one, two around a minute's turn) and the
/// recently closed ones that late trades may still correct.
private struct SymbolCandles {
    var latestEventTime = Int64.min
    var open: [Candle] = []
    /// Oldest first.
    var closed: [Candle] = []
}
