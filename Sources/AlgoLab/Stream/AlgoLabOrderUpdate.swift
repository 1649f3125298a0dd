import Foundation
import Ingest

/// An `O` message of AlgoLab's WebSocket: an order of the account changed (accepted, filled,
/// cancelled, …). AlgoLab does not document its integer codes; the raw values are kept, the
/// ones whose meaning is known are mapped, and the rest are left for the caller to log.
public struct AlgoLabOrderUpdate: Sendable, Equatable {
    /// AlgoLab's internal id of the order (`Id`).
    public var id: String
    /// The order id AlgoLab's REST replies use (`001VEV`), from `Comment`'s "Referans Numaranız".
    public var reference: String?
    public var symbol: String
    /// `Date`: Istanbul local time on the wire (no offset), as UTC nanoseconds here.
    public var time: Int64
    /// Shares ordered (`Lot`) and executed so far (`ExecutedLot`).
    public var lots: Int64
    public var executedLots: Int64
    public var price: Price
    /// The average price of the executed part (`ExecutedPrice`); zero while nothing executed.
    public var executedPrice: Price
    /// `Direction`, `PriceType`, `Status`: undocumented integers, kept as sent.
    public var rawDirection: Int
    public var rawPriceType: Int
    public var rawStatus: Int
    /// `Comment` and `Channel`, verbatim (Turkish text).
    public var comment: String
    public var channel: String

    /// What `Status` means, where known (from AlgoLab's messages: 2 came with the whole order
    /// executed). Everything else is `nil`: the caller logs it and goes by the executed lots.
    public var status: Status? { Status(rawValue: rawStatus) }

    public enum Status: Int, Sendable {
        case filled = 2
    }

    /// Whether every ordered share executed.
    public var isFilled: Bool { lots > 0 && executedLots >= lots }

    static func decode(_ content: UnsafeRawBufferPointer) -> Result<AlgoLabOrderUpdate, FrameError> {
        let wire: Wire
        do {
            wire = try AlgoLabReply.decoder.decode(Wire.self, from: Data(content))
        } catch {
            return .failure(.badJSON("an O message's content: \(error)"))
        }
        guard let time = localTime(wire.date) else {
            return .failure(.badTimestamp("\(Sanitized(wire.date)) is not an Istanbul time such as 2024-09-25T15:30:25.61"))
        }
        func shares(_ d: Decimal, _ name: String) throws(FrameError) -> Int64 {
            guard d >= 0, let n = wholeShares("\(d)") else {
                throw .badQuantity("\(name) \(d) is not a whole number of shares")
            }
            return n
        }
        func price(_ d: Decimal, _ name: String) throws(FrameError) -> Price {
            guard let p = Price("\(d)"), p.units >= 0 else { throw .nonPositivePrice(field: name, value: "\(d)") }
            return p
        }
        do {
            return .success(AlgoLabOrderUpdate(
                id: wire.id, reference: AlgoLabOrderReference.parse(wire.comment ?? ""), symbol: wire.symbol, time: time,
                lots: try shares(wire.lot, "Lot"), executedLots: try shares(wire.executedlot ?? 0, "ExecutedLot"),
                price: try price(wire.price, "Price"), executedPrice: try price(wire.executedprice ?? 0, "ExecutedPrice"),
                rawDirection: wire.direction, rawPriceType: wire.pricetype, rawStatus: wire.status,
                comment: wire.comment ?? "", channel: wire.channel ?? ""))
        } catch {
            return .failure(error)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f]` in Istanbul time (UTC+03:00 all year since 2016) as UTC ns.
    static func localTime(_ text: String) -> Int64? {
        var withOffset = text + "+03:00"
        return withOffset.withUTF8 { UTCTime.parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    /// The wire shape (keys folded to lowercase by the decoder).
    private struct Wire: Decodable {
        var id: String
        var date: String
        var direction: Int
        var symbol: String
        var lot: Decimal
        var pricetype: Int
        var price: Decimal
        var comment: String?
        var status: Int
        var channel: String?
        var executedlot: Decimal?
        var executedprice: Decimal?
    }
}
