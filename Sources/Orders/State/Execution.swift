import Ingest

/// One fill of an order, as the broker reports it. The id is the broker's, unique per broker:
/// it is what makes applying a fill twice impossible.
public struct Execution: Hashable, Sendable {
    public var id: String
    public var quantity: Int64
    public var price: Price
    /// Exchange time, ns since the epoch (UTC).
    public var time: Int64

    public init(id: String, quantity: Int64, price: Price, time: Int64) {
        self.id = id
        self.quantity = quantity
        self.price = price
        self.time = time
    }
}
