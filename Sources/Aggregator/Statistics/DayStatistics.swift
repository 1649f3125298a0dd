import Ingest

/// Every symbol's statistics for one trading day, as a process starts with them: rebuilt from
/// what an earlier run stored (`StoredDayStatistics` in the store), so that a restart mid-session
/// keeps the day's open, high, low, volume, trade count, turnover and the previous close.
public struct DayStatistics: Sendable, Equatable {
    /// The trading day the figures belong to.
    public var day: TradingDay
    /// Indexed by symbol id; a symbol with nothing stored has empty statistics.
    public var symbols: [SymbolStatistics]
    /// The latest exchange time among them (the market's time they describe).
    public var marketTime: Int64

    public init(day: TradingDay, symbols: [SymbolStatistics], marketTime: Int64) {
        self.day = day
        self.symbols = symbols
        self.marketTime = marketTime
    }

    /// Takes a tick that was not in the stored figures (one an earlier run spooled): counted in
    /// the day when it belongs to it; one of an earlier day may be a later previous close, last
    /// trade or quote of a symbol that has none since.
    public mutating func apply(_ tick: Tick, previousCloseTimes: inout [Int64]) {
        let s = Int(tick.symbol.rawValue)
        guard s < symbols.count, tick.exchangeTime < day.nextStart else { return }
        symbols[s].roll(to: day.day)
        if day.contains(tick.exchangeTime) {
            symbols[s].apply(tick)
            marketTime = max(marketTime, tick.exchangeTime)
            return
        }
        if tick.kind == .trade && tick.exchangeTime >= previousCloseTimes[s] {
            previousCloseTimes[s] = tick.exchangeTime
            symbols[s].previousClose = tick.price
        }
        symbols[s].takeLast(tick)
    }
}
