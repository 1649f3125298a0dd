import Ingest

/// What placement needs from the market data for one symbol, read at the moment of placement.
public struct MarketQuote: Hashable, Sendable {
    /// The previous trading day's close (it survives a restart: the store writer rebuilds it).
    public var previousClose: Price?
    /// Today's first trade: the base of a symbol with no previous close (a new listing).
    public var firstPriceToday: Price?
    /// The last continuous-session trade: the closing auction's band is around it.
    public var lastPrice: Price?
    /// Limits a feed published for today; they win over computed ones.
    public var publishedLimits: PriceLimits?
    /// The latest trade on any day (what a holding is valued at).
    public var latestPrice: Price?

    public init(previousClose: Price? = nil, firstPriceToday: Price? = nil, lastPrice: Price? = nil, publishedLimits: PriceLimits? = nil,
                latestPrice: Price? = nil) {
        self.previousClose = previousClose
        self.firstPriceToday = firstPriceToday
        self.lastPrice = lastPrice
        self.publishedLimits = publishedLimits
        self.latestPrice = latestPrice ?? lastPrice ?? previousClose
    }
}

/// The market as the orders module sees it; nil for a symbol the market does not list.
public protocol MarketView: Sendable {
    func quote(for symbol: String) -> MarketQuote?
}
