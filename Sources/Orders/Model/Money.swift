import Ingest

/// An exact amount of Turkish lira in kuruş (1/100 lira): cash balances, reservations, trade
/// values and cost lines. Every BIST equity price step is a whole number of kuruş, so the value
/// of a fill (price × shares) is one exactly; only cost lines need rounding (`CostSchedule`).
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var kurus: Int64

    public init(kurus: Int64) { self.kurus = kurus }

    public static let zero = Money(kurus: 0)
    static let pricePerKurus = Price.unitsPerLira / 100

    /// Parses "1250.50", "1250" (no exponent, at most two decimals); nil for anything else.
    public init?(_ text: String) {
        guard !text.contains(where: { $0 == "e" || $0 == "E" || $0 == "+" }) else { return nil }
        var text = text
        guard case .success(let kurus) = text.withUTF8({ ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: 2) }) else { return nil }
        self.kurus = kurus
    }

    /// The value of `shares` at `price`: nil when the price is not a whole number of kuruş or
    /// the product does not fit.
    public static func value(of shares: Int64, at price: Price) -> Money? {
        guard price.units % pricePerKurus == 0 else { return nil }
        let (kurus, overflow) = (price.units / pricePerKurus).multipliedReportingOverflow(by: shares)
        return overflow ? nil : Money(kurus: kurus)
    }

    /// The amount per share as a price, to six decimals, half away from zero: averages of fills and costs.
    public func perShare(_ shares: Int64) -> Price? {
        guard shares > 0 else { return nil }
        return Price(units: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(Int128(kurus) * Int128(Self.pricePerKurus), by: Int128(shares))))
    }

    public static func + (a: Money, b: Money) -> Money { Money(kurus: a.kurus + b.kurus) }
    public static func - (a: Money, b: Money) -> Money { Money(kurus: a.kurus - b.kurus) }
    public static prefix func - (a: Money) -> Money { Money(kurus: -a.kurus) }
    public static func += (a: inout Money, b: Money) { a.kurus += b.kurus }
    public static func -= (a: inout Money, b: Money) { a.kurus -= b.kurus }
    public static func < (a: Money, b: Money) -> Bool { a.kurus < b.kurus }

    /// "1250.5", "-3", "0.07": the shortest exact decimal, as prices are written.
    public var description: String { ScaledDecimal.format(kurus, scale: 2) }
}
