import Aggregator
import Ingest

/// What the placement rules need to know besides the order: the market's state for its symbol
/// and the account's limits, gathered by the caller at the moment of placement.
public struct PlacementContext: Sendable {
    /// Whether the symbol is one the daemon knows (configured or seen on a feed).
    public var symbolKnown: Bool
    public var phase: SessionPhase
    /// The band a price must lie in now (daily limits, or the closing auction's); nil when unknown.
    public var limits: PriceLimits?
    public var table: TickSizeTable
    public var maximumQuantity: Int64
    public var maximumOrderValue: Money
    /// The account's orders still working.
    public var openOrders: Int
    public var maximumOpenOrders: Int
    /// When the market opens next ("2026-12-08 09:40 Istanbul"), for the closed-market message.
    public var nextOpen: String?

    public init(symbolKnown: Bool, phase: SessionPhase, limits: PriceLimits?, table: TickSizeTable = .bistEquity, maximumQuantity: Int64,
                maximumOrderValue: Money, openOrders: Int, maximumOpenOrders: Int, nextOpen: String? = nil) {
        self.symbolKnown = symbolKnown
        self.phase = phase
        self.limits = limits
        self.table = table
        self.maximumQuantity = maximumQuantity
        self.maximumOrderValue = maximumOrderValue
        self.openOrders = openOrders
        self.maximumOpenOrders = maximumOpenOrders
        self.nextOpen = nextOpen
    }
}
