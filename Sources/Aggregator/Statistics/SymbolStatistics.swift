import Ingest

/// One symbol's latest state and its statistics for the trading day: last trade, top of book,
/// the day's open, high, low, volume, trade count, exact turnover and VWAP, and the previous
/// trading day's close. Reset when a new trading day's session starts (`roll(to:)`).
public struct SymbolStatistics: Sendable, Equatable {
    public var symbol: SymbolID
    /// The trading day the daily figures belong to (days since 1970-01-01; nil before any tick).
    public var tradingDay: Int?
    public var lastPrice: Price?
    public var lastTradeTime: Int64 = 0
    public var lastTradeQuantity: Int64 = 0
    /// Best bid and ask as last quoted (`nil` when never quoted or withdrawn).
    public var bid: Price?
    public var ask: Price?
    public var quoteTime: Int64 = 0
    public var open: Price?
    public var high: Price?
    public var low: Price?
    public var volume: Int64 = 0
    public var tradeCount: Int64 = 0
    /// Σ price × quantity of the day in 10⁻⁶ TRY, exact.
    public var turnover: Int128 = 0
    /// The last trade price before the trading day began (rebuilt from the store at start).
    public var previousClose: Price?
    /// Changed since the last time it was published or snapshotted.
    public var changed = false

    public init(symbol: SymbolID) { self.symbol = symbol }

    /// Takes one tick of the current trading day (the caller has rolled the day over already).
    public mutating func apply(_ tick: Tick) {
        takeLast(tick)
        if tick.kind == .trade {
            if open == nil { open = tick.price }
            high = max(high ?? tick.price, tick.price)
            low = min(low ?? tick.price, tick.price)
            volume += tick.quantity
            tradeCount += 1
            turnover += Int128(tick.price.units) * Int128(tick.quantity)
        }
        changed = true
    }

    /// Takes `tick` as the last trade or the last quote unless the one held is later: an
    /// out-of-order trade counts toward the day but does not become the last price.
    mutating func takeLast(_ tick: Tick) {
        switch tick.kind {
        case .trade:
            if tick.exchangeTime >= lastTradeTime {
                lastPrice = tick.price
                lastTradeTime = tick.exchangeTime
                lastTradeQuantity = tick.quantity
            }
        case .quote:
            if tick.exchangeTime >= quoteTime {
                bid = tick.bid.units > 0 ? tick.bid : nil
                ask = tick.ask.units > 0 ? tick.ask : nil
                quoteTime = tick.exchangeTime
            }
        }
    }

    /// Starts a new trading day: the last price becomes the previous close; daily figures reset.
    public mutating func roll(to day: Int) {
        guard tradingDay != day else { return }
        if let tradingDay, tradingDay > day { return }  // never back to an older day
        if tradingDay != nil, let lastPrice { previousClose = lastPrice }
        tradingDay = day
        open = nil
        high = nil
        low = nil
        volume = 0
        tradeCount = 0
        turnover = 0
        changed = true
    }

    /// Turnover / volume rounded half away from zero (10⁻⁶ TRY); nil before the day's first trade.
    public var vwap: Price? {
        guard volume > 0 else { return nil }
        return Price(units: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(turnover, by: Int128(volume))))
    }

    /// Last price minus the previous close.
    public var change: Price? {
        guard let lastPrice, let previousClose else { return nil }
        return Price(units: lastPrice.units - previousClose.units)
    }
}
