/// Where an order is in its life (docs/orders.md draws the machine).
public enum OrderStatus: String, Sendable, CaseIterable, Codable {
    /// Reserved and recorded, not yet accepted by the broker.
    case pendingNew = "PENDING_NEW"
    /// Accepted by the broker and working, nothing filled.
    case new = "NEW"
    case partiallyFilled = "PARTIALLY_FILLED"
    case filled = "FILLED"
    /// Refused by the broker (or by the market) after it was recorded.
    case rejected = "REJECTED"
    /// A cancel was sent; fills may still arrive until it is confirmed.
    case pendingCancel = "PENDING_CANCEL"
    case cancelled = "CANCELLED"
    /// An amendment was sent; fills may still arrive until it is confirmed.
    case pendingReplace = "PENDING_REPLACE"
    /// A DAY order's rest at the session's end.
    case expired = "EXPIRED"

    /// No change can follow.
    public var isTerminal: Bool {
        switch self {
        case .filled, .rejected, .cancelled, .expired: true
        default: false
        }
    }

    /// The reference's status strings (its order schema says `SUBMITTED` for an accepted order
    /// and its placement flow `PENDING` for a recorded one); the rest are named as here.
    public var apiName: String {
        switch self {
        case .pendingNew: "PENDING"
        case .new: "SUBMITTED"
        default: rawValue
        }
    }
}
