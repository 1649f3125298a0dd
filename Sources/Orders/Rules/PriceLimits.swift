import Ingest

/// The prices an order may carry today: the base price (the previous session's close, on the
/// grid) and the band around it, on the grid and rounded inward — the upper limit down, the
/// lower limit up — so that no limit lies outside the margin.
public struct PriceLimits: Hashable, Sendable, CustomStringConvertible {
    public var lower: Price
    public var upper: Price
    /// What the band was computed around (nil when a feed published the limits themselves).
    public var base: Price?

    public init(lower: Price, upper: Price, base: Price? = nil) {
        self.lower = lower
        self.upper = upper
        self.base = base
    }

    /// BIST's daily limits: the previous close rounded to the nearest step (half up), then
    /// ± `margin` of it, inward onto the grid. Nil when the close is not positive or the band is empty.
    public static func daily(previousClose: Price, margin: Rate, table: TickSizeTable = .bistEquity) -> PriceLimits? {
        guard previousClose.units > 0, let base = nearestStep(previousClose, table: table) else { return nil }
        return around(base, margin: margin, table: table)
    }

    /// The closing auction's band: ± `margin` (3 % on BIST) of the last continuous-session price,
    /// inward onto the grid (that price is a traded one, on the grid already).
    public static func closingAuction(lastPrice: Price, margin: Rate, table: TickSizeTable = .bistEquity) -> PriceLimits? {
        guard lastPrice.units > 0 else { return nil }
        return around(nearestStep(lastPrice, table: table) ?? lastPrice, margin: margin, table: table)
    }

    static func around(_ base: Price, margin: Rate, table: TickSizeTable) -> PriceLimits? {
        let one = Int128(Rate.one)
        let up = Int128(base.units) * (one + Int128(margin.units))
        let down = Int128(base.units) * (one - Int128(margin.units))
        guard let upFloor = Int64(exactly: up / one), down > 0 else { return nil }
        let downCeiling = Int64(down / one + (down % one == 0 ? 0 : 1))
        let upper = onGridAtOrBelow(Price(units: upFloor), table: table)
        let lower = onGridAtOrAbove(Price(units: downCeiling), table: table)
        guard let upper, let lower, lower <= upper else { return nil }
        return PriceLimits(lower: lower, upper: upper, base: base)
    }

    static func onGridAtOrBelow(_ price: Price, table: TickSizeTable) -> Price? {
        if table.contains(price) { return price }
        let below = table.stepBelow(price)
        return below < price && table.contains(below) ? below : nil
    }

    static func onGridAtOrAbove(_ price: Price, table: TickSizeTable) -> Price? {
        if table.contains(price) { return price }
        let above = table.stepAbove(price)
        return above > price && table.contains(above) ? above : nil
    }

    /// The grid price nearest `price` (the higher one when it lies half way).
    static func nearestStep(_ price: Price, table: TickSizeTable) -> Price? {
        if table.contains(price) { return price }
        let below = table.stepBelow(price), above = table.stepAbove(price)
        let hasBelow = below < price && table.contains(below), hasAbove = above > price && table.contains(above)
        switch (hasBelow, hasAbove) {
        case (true, true): return price.units - below.units < above.units - price.units ? below : above
        case (true, false): return below
        case (false, true): return above
        case (false, false): return nil
        }
    }

    public func contains(_ price: Price) -> Bool { lower <= price && price <= upper }

    public var description: String { "\(lower)-\(upper)" + (base.map { " around \($0)" } ?? "") }
}
