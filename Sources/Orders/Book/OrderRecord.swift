import Foundation
import Ingest

/// An order as the read model holds it: what the API answers and the commands start from.
public struct OrderRecord: Hashable, Sendable {
    public var id: UUID
    public var userId: UUID
    public var clientOrderId: String?
    public var state: OrderState
    public var reservedCash: Money
    public var reservedShares: Int64
    /// The price a buy's reservation is counted at: its limit, or a MARKET buy's upper limit at placement.
    public var reservationPrice: Price?
    public var costs: CostSchedule
    public var broker: String
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The Istanbul date it was placed on ("YYYY-MM-DD"): a DAY order expires at its end.
    public var tradingDay: String

    public var terms: OrderTerms { state.terms }
}
