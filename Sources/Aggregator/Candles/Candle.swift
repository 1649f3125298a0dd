import Ingest

/// One symbol's trades in one UTC minute: open, high, low, close, volume, trade count, exact
/// turnover and VWAP, and the sequence numbers of its first and last trade.
///
/// Open and close are the prices of the first and last trade *by sequence number* (then exchange
/// time, for feeds that do not number their messages), so a trade that arrives out of order still
/// lands where it belongs.
public struct Candle: Hashable, Sendable, BitwiseCopyable {
    public static let minuteNanos: Int64 = 60 * UTCTime.nanosPerSecond

    public var symbol: SymbolID
    /// The minute's start, nanoseconds since the Unix epoch (UTC).
    public var start: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Int64
    public var tradeCount: Int64
    /// Σ price × quantity in 10⁻⁶ TRY, exact (128 bits: no realistic minute overflows it).
    public var turnover: Int128
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// The exchange time of the first and last trade, the tie-breaker after the sequence number.
    var firstTime: Int64
    var lastTime: Int64

    /// The minute (start) a time falls in; floor division, so times before 1970 work too.
    public static func minute(of nanos: Int64) -> Int64 {
        UTCTime.floor(nanos, toMultipleOf: minuteNanos)
    }

    /// A candle of one trade.
    public init(trade t: Tick) {
        symbol = t.symbol
        start = Self.minute(of: t.exchangeTime)
        open = t.price
        high = t.price
        low = t.price
        close = t.price
        volume = t.quantity
        tradeCount = 1
        turnover = Int128(t.price.units) * Int128(t.quantity)
        firstSequence = t.sequence
        lastSequence = t.sequence
        firstTime = t.exchangeTime
        lastTime = t.exchangeTime
    }

    /// Adds a trade of the same symbol and minute.
    public mutating func add(_ t: Tick) {
        if (t.sequence, t.exchangeTime) < (firstSequence, firstTime) {
            open = t.price
            firstSequence = t.sequence
            firstTime = t.exchangeTime
        }
        if (t.sequence, t.exchangeTime) >= (lastSequence, lastTime) {
            close = t.price
            lastSequence = t.sequence
            lastTime = t.exchangeTime
        }
        high = max(high, t.price)
        low = min(low, t.price)
        volume += t.quantity
        tradeCount += 1
        turnover += Int128(t.price.units) * Int128(t.quantity)
    }

    /// Turnover / volume rounded half away from zero, in 10⁻⁶ TRY; the close when no volume traded.
    public var vwap: Price {
        guard volume > 0 else { return close }
        return Price(units: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(turnover, by: Int128(volume))))
    }

    /// The minute's end (exclusive).
    public var end: Int64 { start + Self.minuteNanos }

    public var key: CandleKey { CandleKey(symbol: symbol, start: start) }
}

/// Names one candle: a symbol and a minute.
public struct CandleKey: Hashable, Sendable, BitwiseCopyable {
    public var symbol: SymbolID
    /// The minute's start, nanoseconds since the Unix epoch (UTC).
    public var start: Int64
    public init(symbol: SymbolID, start: Int64) {
        self.symbol = symbol
        self.start = start
    }
}
