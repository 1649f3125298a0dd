import Events
import Foundation
import Ingest

/// The orders API's JSON: the reference's order schema (id, userId, symbol, orderType, side,
/// quantity, price, status, timestamp, brokerOrderId) and what a trader needs besides. Prices and
/// amounts are exact decimals (JSON numbers for prices as the reference writes them, strings for
/// amounts of money, which must never pass through a float).
enum OrderJSON {
    static func order(_ order: OrderRecord) -> JSONValue {
        let terms = order.terms, state = order.state
        let average = state.filledQuantity > 0
            ? JSONValue.price(Price(units: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(
                Int128(state.filledValue.kurus) * Int128(Price.unitsPerLira / 100), by: Int128(state.filledQuantity)))))
            : .null
        return .object([
            ("id", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)),
            ("clientOrderId", order.clientOrderId.map(JSONValue.string) ?? .null), ("symbol", .string(terms.symbol)),
            ("orderType", .string(terms.type.rawValue)), ("side", .string(terms.side.rawValue)), ("timeInForce", .string(terms.timeInForce.rawValue)),
            ("quantity", .integer(terms.quantity)), ("price", terms.price.map(JSONValue.price) ?? .null), ("status", .string(state.status.apiName)),
            ("filledQuantity", .integer(state.filledQuantity)), ("remainingQuantity", .integer(state.remainingQuantity)),
            ("averagePrice", average), ("reservedCash", .string("\(order.reservedCash)")), ("reservedShares", .integer(order.reservedShares)),
            ("reason", state.reason.map(JSONValue.string) ?? .null), ("broker", .string(order.broker)),
            ("brokerOrderId", state.brokerOrderId.map(JSONValue.string) ?? .null), ("tradingDay", .string(order.tradingDay)),
            ("seq", .integer(Int64(state.sequence))), ("timestamp", .string(UTCTime.formatISO8601(order.createdAt))),
            ("updatedAt", .string(UTCTime.formatISO8601(order.updatedAt))),
        ])
    }

    static func rejection(_ rejection: OrderRejection) -> JSONValue {
        .object([("error", .string(rejection.code.rawValue)), ("field", rejection.field.map(JSONValue.string) ?? .null),
                 ("message", .string(rejection.message))])
    }
}
