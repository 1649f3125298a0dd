import Ingest

/// What a fill costs besides its value: the broker's commission (a rate per user level), BSMV
/// (the banking and insurance transaction tax, a rate of the commission) and the exchange fee (a
/// rate of the value).
///
/// Rounding happens once per order and cost line: each line is computed exactly on the order's
/// whole filled value so far and rounded half up to the kuruş (BSMV from the exact, unrounded
/// commission). A fill books the difference from the order's previous total, so an order's cost
/// lines sum to the rounded cost of its whole value however it was split, and the reservation
/// (the same rule on the order's full value) always covers them.
public struct CostSchedule: Hashable, Sendable {
    public var commission: Rate
    /// Of the commission (5 %).
    public var bsmv: Rate
    /// Of the value (0.003 %).
    public var exchangeFee: Rate

    public init(commission: Rate, bsmv: Rate, exchangeFee: Rate) {
        self.commission = commission
        self.bsmv = bsmv
        self.exchangeFee = exchangeFee
    }

    /// The cost lines of an order whose fills add up to `value`.
    public func costs(ofFilled value: Money) -> TradeCosts {
        let one = Int128(Rate.one)
        let commissionExact = commission.exactProduct(value.kurus)  // over `one`
        return TradeCosts(commission: Self.kurus(commissionExact, over: one),
                          bsmv: Self.kurus(commissionExact * Int128(bsmv.units), over: one * one),
                          exchangeFee: Self.kurus(exchangeFee.exactProduct(value.kurus), over: one))
    }

    /// The lines one fill books: the order's costs with it less its costs before it.
    public func costs(ofFill value: Money, filledBefore: Money) -> TradeCosts {
        costs(ofFilled: filledBefore + value) - costs(ofFilled: filledBefore)
    }

    static func kurus(_ numerator: Int128, over denominator: Int128) -> Money {
        Money(kurus: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(numerator, by: denominator)))
    }
}

/// The cost lines of a fill or an order, each whole kuruş.
public struct TradeCosts: Hashable, Sendable {
    public var commission: Money
    public var bsmv: Money
    public var exchangeFee: Money

    public init(commission: Money = .zero, bsmv: Money = .zero, exchangeFee: Money = .zero) {
        self.commission = commission
        self.bsmv = bsmv
        self.exchangeFee = exchangeFee
    }

    public var total: Money { commission + bsmv + exchangeFee }

    public static func - (a: TradeCosts, b: TradeCosts) -> TradeCosts {
        TradeCosts(commission: a.commission - b.commission, bsmv: a.bsmv - b.bsmv, exchangeFee: a.exchangeFee - b.exchangeFee)
    }
}
