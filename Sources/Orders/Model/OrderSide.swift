/// Which way an order trades.
public enum OrderSide: String, Sendable, CaseIterable, Codable {
    case buy = "BUY"
    case sell = "SELL"
}
