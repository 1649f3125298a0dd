import Events
import Foundation
import Ingest

/// The orders module's events: the reference's fields first (`OrderCreated`: orderId, userId,
/// symbol, side, quantity, price, orderType), then what rebuilding the order from its events needs.
/// Every one carries the order's `seq` after it, keyed by the user (a user's events keep their order).
extension Event {
    static func orderCreated(_ order: OrderRecord, time: Int64) -> Event {
        let terms = order.terms
        return Event(.orderCreated, key: order.userId.lowercased, data: [
            ("orderId", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)), ("symbol", .string(terms.symbol)),
            ("side", .string(terms.side.rawValue)), ("quantity", .integer(terms.quantity)), ("price", terms.price.map(JSONValue.price) ?? .null),
            ("orderType", .string(terms.type.rawValue)), ("timeInForce", .string(terms.timeInForce.rawValue)),
            ("clientOrderId", order.clientOrderId.map(JSONValue.string) ?? .null), ("broker", .string(order.broker)),
            ("reservedCash", .string("\(order.reservedCash)")), ("reservedShares", .integer(order.reservedShares)),
            ("reservationPrice", order.reservationPrice.map(JSONValue.price) ?? .null), ("commissionRate", .integer(order.costs.commission.units)), ("bsmvRate", .integer(order.costs.bsmv.units)),
            ("exchangeFeeRate", .integer(order.costs.exchangeFee.units)), ("tradingDay", .string(order.tradingDay)), ("seq", .integer(1)),
        ], time: time)
    }

    static func orderSubmitted(_ order: OrderRecord, time: Int64) -> Event {
        Event(.orderSubmitted, key: order.userId.lowercased, data: [
            ("orderId", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)),
            ("brokerOrderId", order.state.brokerOrderId.map(JSONValue.string) ?? .null), ("status", .string(order.state.status.apiName)),
            ("seq", .integer(Int64(order.state.sequence))),
        ], time: time)
    }

    static func orderRejected(_ order: OrderRecord, released: (cash: Money, shares: Int64), time: Int64) -> Event {
        Event(.orderRejected, key: order.userId.lowercased, data: [
            ("orderId", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)), ("reason", .string(order.state.reason ?? "")),
            ("releasedCash", .string("\(released.cash)")), ("releasedShares", .integer(released.shares)),
            ("seq", .integer(Int64(order.state.sequence))),
        ], time: time)
    }

    static func orderCancelled(_ order: OrderRecord, released: (cash: Money, shares: Int64), time: Int64) -> Event {
        Event(.orderCancelled, key: order.userId.lowercased, data: [
            ("orderId", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)), ("reason", .string(order.state.reason ?? "")),
            ("filledQuantity", .integer(order.state.filledQuantity)), ("releasedCash", .string("\(released.cash)")),
            ("releasedShares", .integer(released.shares)), ("seq", .integer(Int64(order.state.sequence))),
        ], time: time)
    }
}

extension Event {
    /// `PartialExecution`, or `OrderFilled` for the fill that completes the order.
    static func orderExecuted(_ order: OrderRecord, execution: Execution, value: Money, costs: TradeCosts, valueDate: String, time: Int64) -> Event {
        let state = order.state
        return Event(state.status == .filled ? .orderFilled : .partialExecution, key: order.userId.lowercased, data: [
            ("orderId", .string(order.id.lowercased)), ("userId", .string(order.userId.lowercased)), ("executionId", .string(execution.id)),
            ("symbol", .string(order.terms.symbol)), ("side", .string(order.terms.side.rawValue)), ("quantity", .integer(execution.quantity)),
            ("price", .price(execution.price)), ("executedAt", .string(UTCTime.formatISO8601(execution.time))), ("value", .string("\(value)")),
            ("commission", .string("\(costs.commission)")), ("bsmv", .string("\(costs.bsmv)")), ("exchangeFee", .string("\(costs.exchangeFee)")),
            ("valueDate", .string(valueDate)), ("filledQuantity", .integer(state.filledQuantity)), ("status", .string(state.status.apiName)),
            ("reservedCash", .string("\(order.reservedCash)")), ("seq", .integer(Int64(state.sequence))),
        ], time: time)
    }
}

extension UUID {
    var lowercased: String { uuidString.lowercased() }
}
