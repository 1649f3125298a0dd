/// Pieces of JSON text shared by the WebSocket messages, the HTTP API and the events, written by hand so that
/// exact amounts never pass through a floating point type.
public enum JSONText {
    /// A JSON string literal; control characters, quotes and backslashes escaped.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// An exact amount in 10⁻⁶ TRY (128 bits) as a decimal number of lira.
    public static func lira(_ units: Int128) -> String {
        let whole = units.magnitude / 1_000_000
        let fraction = units.magnitude % 1_000_000
        var out = (units < 0 ? "-" : "") + "\(whole)"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            out += "." + digits
        }
        return out
    }

    /// change / base in percent, rounded half away from zero to two decimals, exactly.
    public static func percent(_ change: Price?, of base: Price?) -> String {
        guard let change, let base, base.units > 0 else { return "null" }
        let hundredths = ScaledDecimal.divideRoundingHalfAwayFromZero(Int128(change.units) * 10_000, by: Int128(base.units))
        return ScaledDecimal.format(Int64(hundredths), scale: 2)
    }
}
