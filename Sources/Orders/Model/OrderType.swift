/// How an order is priced.
public enum OrderType: String, Sendable, CaseIterable, Codable {
    /// At its price or better.
    case limit = "LIMIT"
    /// At whatever the book offers; BIST accepts it only as `TimeInForce.ioc` (KİE).
    case market = "MARKET"
}
