import Aggregator
import Ingest

/// The placement rules, in the order they are checked; the first that fails answers. Each is
/// pure (the order and a `PlacementContext` in, a refusal or nothing out), so the table can be
/// tested rule by rule at its boundaries. Buying power, free shares and the rate limit are
/// checked where the account's state is (`OrderService`), not here.
public enum OrderRules {
    public struct Rule: Sendable {
        public let name: String
        let check: @Sendable (OrderTerms, PlacementContext) -> OrderRejection?
    }

    public static let all: [Rule] = [
        Rule(name: "symbol is known") { terms, context in
            context.symbolKnown ? nil : OrderRejection(.unknownSymbol, field: "symbol", "\(Sanitized(terms.symbol)) is not a symbol this market lists")
        },
        Rule(name: "quantity within the per-order maximum") { terms, context in
            terms.quantity <= context.maximumQuantity ? nil
                : OrderRejection(.quantityAboveMaximum, field: "quantity",
                                 "quantity \(terms.quantity) is above the per-order maximum of \(context.maximumQuantity) shares")
        },
        Rule(name: "type and time in force allowed in the phase") { terms, context in
            phaseVerdict(phase: context.phase, type: terms.type, timeInForce: terms.timeInForce, nextOpen: context.nextOpen)
        },
        Rule(name: "limit price on the step grid") { terms, context in
            guard let price = terms.price, !context.table.contains(price) else { return nil }
            let below = context.table.stepBelow(price), above = context.table.stepAbove(price)
            return OrderRejection(.priceOffStep, field: "price",
                                  "price \(price) is not on the \(Price(units: context.table.step(at: price))) step grid (nearest: \(below) or \(above))")
        },
        Rule(name: "price inside the day's limits") { terms, context in
            guard let limits = context.limits else {
                return OrderRejection(.noPriceLimits, field: "price",
                                      "today's price limits for \(terms.symbol) are not known yet (no previous close and no trade today)")
            }
            guard let price = terms.price else { return nil }
            if price > limits.upper {
                return OrderRejection(.priceAboveLimit, field: "price", "price \(price) is above today's upper limit \(limits.upper)")
            }
            if price < limits.lower {
                return OrderRejection(.priceBelowLimit, field: "price", "price \(price) is below today's lower limit \(limits.lower)")
            }
            return nil
        },
        Rule(name: "value within the per-order maximum") { terms, context in
            guard let price = terms.price ?? context.limits?.upper else { return nil }
            let value = Money.value(of: terms.quantity, at: price)
            guard let value, value <= context.maximumOrderValue else {
                return OrderRejection(.orderValueAboveMaximum, field: "quantity",
                                      "the order's value \(value.map { "\($0)" } ?? "(out of range)") TRY is above the maximum of \(context.maximumOrderValue) TRY"
                                        + (terms.type == .market ? " (a MARKET order is valued at the upper limit \(price))" : ""))
            }
            return nil
        },
        Rule(name: "open orders within the account's maximum") { _, context in
            context.openOrders < context.maximumOpenOrders ? nil
                : OrderRejection(.tooManyOpenOrders, "the account already has \(context.openOrders) open orders (the maximum is \(context.maximumOpenOrders))")
        },
    ]

    /// Checks every rule in order; throws the first refusal.
    public static func check(_ terms: OrderTerms, in context: PlacementContext) throws(OrderRejection) {
        for rule in all {
            if let refusal = rule.check(terms, context) { throw refusal }
        }
    }

    /// Which order types and times in force each phase takes. A MARKET order is accepted only
    /// as IOC (KİE); an auction collects DAY limit orders for its uncross (nothing can fill at
    /// once in it); outside the sessions nothing is taken.
    public static func phaseVerdict(phase: SessionPhase, type: OrderType, timeInForce: TimeInForce, nextOpen: String?) -> OrderRejection? {
        if phase == .closed {
            return OrderRejection(.marketClosed, "the market is closed" + (nextOpen.map { "; it opens at \($0)" } ?? ""))
        }
        if type == .market && timeInForce != .ioc {
            return OrderRejection(.marketRequiresIOC, field: "timeInForce", "a MARKET order is accepted only as IOC (KİE), not \(timeInForce.rawValue)")
        }
        let auction = phase == .openingAuction || phase == .closingAuction
        if auction && timeInForce != .day {
            return OrderRejection(.notAllowedInPhase, field: "timeInForce",
                                  "the \(phase.rawValue.replacingUnderscores) takes DAY limit orders only: nothing fills at once before the uncross")
        }
        return nil
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
