import Ingest

/// What an order asks for, as placed (or as amended): the fields every rule and the state
/// machine read.
public struct OrderTerms: Hashable, Sendable {
    public var symbol: String
    public var side: OrderSide
    public var type: OrderType
    public var timeInForce: TimeInForce
    /// Shares (BIST equities trade in whole shares: one lot is one share).
    public var quantity: Int64
    /// The limit price; nil for a market order.
    public var price: Price?

    public init(symbol: String, side: OrderSide, type: OrderType, timeInForce: TimeInForce = .day, quantity: Int64, price: Price?) {
        self.symbol = symbol
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
        self.price = price
    }
}
