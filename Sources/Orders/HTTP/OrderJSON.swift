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
        let average = state.filledValue.perShare(state.filledQuantity).map(JSONValue.price) ?? .null
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

    static func execution(_ row: OrderService.ExecutionRow) -> JSONValue {
        .object([
            ("executionId", .string(row.execution.id)), ("orderId", .string(row.orderId.lowercased)), ("symbol", .string(row.symbol)),
            ("side", .string(row.side.rawValue)), ("quantity", .integer(row.execution.quantity)), ("price", .price(row.execution.price)),
            ("value", .string("\(row.value)")), ("commission", .string("\(row.costs.commission)")), ("bsmv", .string("\(row.costs.bsmv)")),
            ("exchangeFee", .string("\(row.costs.exchangeFee)")), ("valueDate", .string(row.valueDate)), ("settled", .bool(row.settled)),
            ("timestamp", .string(UTCTime.formatISO8601(row.execution.time))),
        ])
    }

    static func transaction(_ t: OrderService.Transaction) -> JSONValue {
        .object([
            ("id", .integer(t.entry)), ("kind", .string(t.kind)), ("account", .string(t.account)), ("amount", .string("\(t.amount)")),
            ("orderId", t.orderId.map { .string($0.lowercased) } ?? .null), ("executionId", t.executionId.map(JSONValue.string) ?? .null),
            ("valueDate", t.valueDate.map(JSONValue.string) ?? .null), ("timestamp", .string(UTCTime.formatISO8601(t.time))),
        ])
    }

    /// Cash, reserved, buying power and settled cash; each holding at the latest price (unrealised
    /// P&L and market value `null` for a symbol with no price yet).
    static func portfolio(_ balances: TradingAccounts.Balances, _ holdings: [OrderService.Holding]) -> JSONValue {
        var realised = Money.zero, unrealised = Money.zero, marketValue = Money.zero
        var priced = true
        let positions: [JSONValue] = holdings.map { h in
            let p = h.position
            realised += p.realised
            let value = h.latestPrice.flatMap { Money.value(of: p.shares, at: $0) }
            let pnl = h.latestPrice.flatMap { p.unrealised(at: $0) }
            if let value, let pnl { marketValue += value; unrealised += pnl } else if p.shares > 0 { priced = false }
            return .object([
                ("symbol", .string(h.symbol)), ("shares", .integer(p.shares)), ("reservedShares", .integer(h.reservedShares)),
                ("freeShares", .integer(p.shares - h.reservedShares)), ("averageCost", p.averageCost.map(JSONValue.price) ?? .null),
                ("costBasis", .string("\(p.costBasis)")), ("latestPrice", h.latestPrice.map(JSONValue.price) ?? .null),
                ("marketValue", value.map { .string("\($0)") } ?? .null), ("unrealisedPnl", pnl.map { .string("\($0)") } ?? .null),
                ("realisedPnl", .string("\(p.realised)")),
            ])
        }
        return .object([
            ("cash", .string("\(balances.cash)")), ("settledCash", .string("\(balances.settledCash)")), ("reserved", .string("\(balances.reserved)")),
            ("buyingPower", .string("\(balances.buyingPower)")), ("positions", .array(positions)), ("realisedPnl", .string("\(realised)")),
            ("unrealisedPnl", priced ? .string("\(unrealised)") : .null), ("marketValue", priced ? .string("\(marketValue)") : .null),
            ("equity", priced ? .string("\(balances.cash + marketValue)") : .null),
        ])
    }

    static func page(_ name: String, _ rows: [JSONValue], next: String?) -> JSONValue {
        .object([(name, .array(rows)), ("count", .integer(Int64(rows.count))), ("next", next.map(JSONValue.string) ?? .null)])
    }

    static func rejection(_ rejection: OrderRejection) -> JSONValue {
        .object([("error", .string(rejection.code.rawValue)), ("field", rejection.field.map(JSONValue.string) ?? .null),
                 ("message", .string(rejection.message))])
    }
}
