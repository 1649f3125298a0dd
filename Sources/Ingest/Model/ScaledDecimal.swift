/// Exact conversion between decimal text (JSON number syntax) and scaled integers.
public enum ScaledDecimal {
    /// `numerator / denominator` (denominator > 0) rounded half away from zero: VWAPs and ratios.
    public static func divideRoundingHalfAwayFromZero(_ numerator: Int128, by denominator: Int128) -> Int128 {
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        return 2 * r.magnitude >= denominator.magnitude ? q + (numerator < 0 ? -1 : 1) : q
    }

    public enum ParseError: Error, Hashable, Sendable {
        case notANumber
        case tooManyDecimals
        case overflow
    }

    /// Parses JSON number syntax (`-?digits(.digits)?([eE][+-]?digits)?`) into `value × 10^scale`.
    /// Fails rather than rounds when the value has more decimal places than `scale`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, scale: Int) -> Result<Int64, ParseError> {
        var i = 0
        let n = bytes.count
        guard n > 0 else { return .failure(.notANumber) }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        var mantissa: Int64 = 0
        var fractionDigits = 0
        var digits = 0
        var overflow = false
        var sawPoint = false
        while i < n {
            let c = bytes[i]
            if c >= 0x30 && c <= 0x39 {
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(Int64(c &- 0x30))
                if o1 || o2 { overflow = true }
                mantissa = m2
                digits += 1
                if sawPoint { fractionDigits += 1 }
            } else if c == UInt8(ascii: ".") && !sawPoint && digits > 0 {
                sawPoint = true
                if i + 1 >= n || bytes[i + 1] < 0x30 || bytes[i + 1] > 0x39 { return .failure(.notANumber) }
            } else {
                break
            }
            i += 1
        }
        guard digits > 0 else { return .failure(.notANumber) }
        var exponent = 0
        if i < n && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                expNegative = bytes[i] == UInt8(ascii: "-"); i += 1
            }
            var expDigits = 0
            while i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                if exponent < 10_000 { exponent = exponent * 10 + Int(bytes[i] &- 0x30) }
                expDigits += 1; i += 1
            }
            guard expDigits > 0 else { return .failure(.notANumber) }
            if expNegative { exponent = -exponent }
        }
        guard i == n else { return .failure(.notANumber) }
        if overflow { return .failure(.overflow) }
        // value = mantissa × 10^(exponent − fractionDigits); we want value × 10^scale.
        var shift = exponent - fractionDigits + scale
        var value = mantissa
        while shift < 0 {
            if value % 10 != 0 { return .failure(.tooManyDecimals) }
            value /= 10; shift += 1
        }
        while shift > 0 && value != 0 {
            let (v, o) = value.multipliedReportingOverflow(by: 10)
            if o { return .failure(.overflow) }
            value = v; shift -= 1
        }
        return .success(negative ? -value : value)
    }

    /// Formats `units × 10^-scale` as the shortest exact decimal ("15.75", "16", "-0.5").
    public static func format(_ units: Int64, scale: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(units, scale: scale, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the shortest exact decimal text of `units × 10^-scale` to `out`.
    public static func append(_ units: Int64, scale: Int, to out: inout [UInt8]) {
        let magnitude = units.magnitude
        if units < 0 { out.append(UInt8(ascii: "-")) }
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        appendDigits(magnitude / divisor, to: &out)
        var fraction = magnitude % divisor
        guard fraction != 0 else { return }
        out.append(UInt8(ascii: "."))
        var width = scale
        while fraction % 10 == 0 { fraction /= 10; width -= 1 }
        // Without an allocation: this runs for every price the fan-out and the Kafka lane write.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any scale of an Int64
        withUnsafeMutableBytes(of: &buffer) { raw in
            for i in 0..<width { raw[i] = UInt8(ascii: "0") }
            var i = width - 1
            while fraction > 0 { raw[i] = UInt8(ascii: "0") + UInt8(fraction % 10); fraction /= 10; i -= 1 }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<width]))
        }
    }

    public static func appendDigits(_ value: UInt64, to out: inout [UInt8]) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &buffer) { raw in
            while v > 0 { raw[23 - count] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; count += 1 }
            out.append(contentsOf: raw[(24 - count)...])
        }
    }
}
