import Ingest

/// An exact proportion (a commission rate, a tax, a price margin), held as parts per 10^10 so that
/// rates given in percent with up to eight decimals ("0.003" % for the exchange fee) are exact.
public struct Rate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The proportion × 10^10.
    public var units: Int64
    public static let one: Int64 = 10_000_000_000

    public init(units: Int64) { self.units = units }

    /// A rate written in percent ("10" is a tenth, "0.003" is 3 in 100,000); nil when negative,
    /// not a plain decimal, or finer than 10^-8 percent.
    public init?(percent text: String) {
        guard !text.contains(where: { $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-" }) else { return nil }
        var text = text
        guard case .success(let units) = text.withUTF8({ ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: 8) }) else { return nil }
        self.units = units
    }

    public static func < (a: Rate, b: Rate) -> Bool { a.units < b.units }

    /// `amount` × rate, exact, as a numerator over `Rate.one`.
    func exactProduct(_ amount: Int64) -> Int128 { Int128(amount) * Int128(units) }

    /// In percent: "10", "0.003".
    public var description: String { ScaledDecimal.format(units, scale: 8) }
}
