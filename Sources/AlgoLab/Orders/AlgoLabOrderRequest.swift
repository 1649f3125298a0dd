import Ingest

/// An equity order as AlgoLab's `SendOrder` takes it: strings for the numbers, `lot` in shares,
/// no time in force (AlgoLab's orders are day orders).
public struct AlgoLabOrderRequest: Sendable, Equatable {
    public enum Side: String, Sendable { case buy = "BUY", sell = "SELL" }
    public enum Pricing: Sendable, Equatable {
        case limit(Price)
        /// "piyasa": at the market.
        case market
    }

    public var symbol: String
    public var side: Side
    public var pricing: Pricing
    /// Shares (one lot is one share on BIST's equity market).
    public var shares: Int64
    /// Whether AlgoLab also tells the account holder by SMS or email.
    public var sms = false
    public var email = false
    public var subAccount = ""

    public init(symbol: String, side: Side, pricing: Pricing, shares: Int64) {
        self.symbol = symbol
        self.side = side
        self.pricing = pricing
        self.shares = shares
    }

    var request: AlgoLabRequest {
        let (type, price): (String, String) = switch pricing {
        case .limit(let p): ("limit", "\(p)")
        case .market: ("piyasa", "0")
        }
        return AlgoLabRequest("SendOrder", [
            "symbol": .string(symbol), "direction": .string(side.rawValue), "pricetype": .string(type), "price": .string(price),
            "lot": .string("\(shares)"), "sms": .bool(sms), "email": .bool(email), "subAccount": .string(subAccount),
        ])
    }
}
