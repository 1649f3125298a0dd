import Ingest

/// One thing that happened to an order: the order's events are these, in order, and its state is
/// their fold (`OrderState.applying`).
public enum OrderChange: Hashable, Sendable {
    case created(OrderTerms)
    /// The broker accepted it, under its own id.
    case submitted(brokerOrderId: String)
    case rejected(reason: String)
    case executed(Execution)
    case cancelRequested
    case cancelRefused(reason: String)
    case cancelled(reason: String)
    /// An amendment asked for: a new price and/or a lower quantity (nil: unchanged).
    case replaceRequested(price: Price?, quantity: Int64?)
    case replaced
    case replaceRefused(reason: String)
    case expired

    /// The kinds, for the transition table.
    public enum Kind: String, Sendable, CaseIterable {
        case created, submitted, rejected, executed, cancelRequested, cancelRefused, cancelled, replaceRequested, replaced,
             replaceRefused, expired
    }

    public var kind: Kind {
        switch self {
        case .created: .created
        case .submitted: .submitted
        case .rejected: .rejected
        case .executed: .executed
        case .cancelRequested: .cancelRequested
        case .cancelRefused: .cancelRefused
        case .cancelled: .cancelled
        case .replaceRequested: .replaceRequested
        case .replaced: .replaced
        case .replaceRefused: .replaceRefused
        case .expired: .expired
        }
    }
}
