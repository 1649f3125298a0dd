/// An exact decimal price in Turkish lira, stored as an integer count of 10⁻⁶ lira.
///
/// No binary floating point is involved anywhere: text is parsed digit by digit and printed the
/// same way, so "15.75" in is "15.75" out. Six decimal places cover every BIST price step with room
/// to spare; a value with more significant decimals is rejected, never rounded.
public struct Price: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// Decimal places carried exactly.
    public static let scale = 6
    /// Units per lira (10^scale).
    public static let unitsPerLira: Int64 = 1_000_000

    /// The price in 10⁻⁶ lira.
    public var units: Int64

    public init(units: Int64) { self.units = units }

    /// The absent price (bid or ask missing); real prices are positive.
    public static let zero = Price(units: 0)

    /// `Price` units per unit of a price written with `decimals` decimals (a feed's integers);
    /// nil when such prices are finer than `Price` can hold exactly.
    public static func unitsPerUnit(decimals: UInt16) -> Int64? {
        guard decimals <= UInt16(scale) else { return nil }
        var multiplier: Int64 = 1
        for _ in 0..<(scale - Int(decimals)) { multiplier *= 10 }
        return multiplier
    }

    /// Parses a plain decimal such as "15.75", "15" or "0.000001" (also "1.575e1").
    /// Returns `nil` for anything that is not an exact price at this scale.
    public init?(_ text: String) {
        var text = text
        let parsed = text.withUTF8 { ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: Self.scale) }
        guard case .success(let units) = parsed else { return nil }
        self.units = units
    }

    public static func < (a: Price, b: Price) -> Bool { a.units < b.units }

    /// The shortest exact decimal text: "15.75", "16", "0.000001".
    public var description: String { ScaledDecimal.format(units, scale: Self.scale) }
}
