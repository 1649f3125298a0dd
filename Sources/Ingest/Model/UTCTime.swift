/// UTC timestamps as signed nanoseconds since the Unix epoch, with an exact ISO-8601 codec.
///
/// Storage and the wire are UTC; the market calendar (Europe/Istanbul) lives elsewhere.
public enum UTCTime {
    public static let nanosPerSecond: Int64 = 1_000_000_000
    public static let nanosPerDay: Int64 = 86_400 * nanosPerSecond

    /// The latest multiple of `unit` at or before `nanos` (floor division: times before 1970 too).
    public static func floor(_ nanos: Int64, toMultipleOf unit: Int64) -> Int64 {
        let (q, r) = nanos.quotientAndRemainder(dividingBy: unit)
        return (r < 0 ? q - 1 : q) * unit
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)` into nanoseconds since the epoch (UTC).
    /// Returns `nil` for any other shape, for out-of-range fields, and for years outside
    /// 1970...2261 (the range of a signed 64-bit nanosecond count).
    public static func parseISO8601(_ s: UnsafeRawBufferPointer) -> Int64? {
        let n = s.count
        guard n >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var v = 0
            for i in at..<(at + count) {
                let c = s[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c &- 0x30)
            }
            return v
        }
        guard s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"),
              s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t"),
              s[13] == UInt8(ascii: ":"), s[16] == UInt8(ascii: ":"),
              let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
              let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
        else { return nil }
        guard (1970...2261).contains(year), (1...12).contains(month),
              day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if s[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < n, s[i] >= 0x30, s[i] <= 0x39 {
                guard count < 9 else { return nil }
                fraction = fraction * 10 + Int64(s[i] &- 0x30)
                count += 1; i += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<9 { fraction *= 10 }
        }
        guard i < n else { return nil }
        var offsetSeconds = 0
        if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") {
            i += 1
        } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            guard n - i == 6, s[i + 3] == UInt8(ascii: ":"),
                  let oh = digits(i + 1, 2), let om = digits(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (s[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        let (scaled, o1) = seconds.multipliedReportingOverflow(by: nanosPerSecond)
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        return o1 || o2 ? nil : total
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.fffZ`, with 3, 6 or 9 fraction digits as needed to be exact.
    public static func formatISO8601(_ nanos: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(30)
        appendISO8601(nanos, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func appendISO8601(_ nanos: Int64, to out: inout [UInt8]) {
        let (secondsRaw, nanoRaw) = nanos.quotientAndRemainder(dividingBy: nanosPerSecond)
        let seconds = nanoRaw < 0 ? secondsRaw - 1 : secondsRaw
        let fraction = nanoRaw < 0 ? nanoRaw + nanosPerSecond : nanoRaw
        let (daysRaw, secOfDayRaw) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let days = secOfDayRaw < 0 ? daysRaw - 1 : daysRaw
        let secOfDay = secOfDayRaw < 0 ? secOfDayRaw + 86_400 : secOfDayRaw
        let (y, m, d) = civilFromDays(Int(days))
        func put(_ v: Int, _ width: Int) {
            var p = 1
            for _ in 1..<width { p *= 10 }
            var v = v
            while p > 0 { out.append(UInt8(ascii: "0") + UInt8(v / p % 10)); v %= p; p /= 10 }
        }
        put(y, 4); out.append(UInt8(ascii: "-")); put(m, 2); out.append(UInt8(ascii: "-")); put(d, 2)
        out.append(UInt8(ascii: "T"))
        put(Int(secOfDay / 3600), 2); out.append(UInt8(ascii: ":"))
        put(Int(secOfDay / 60 % 60), 2); out.append(UInt8(ascii: ":"))
        put(Int(secOfDay % 60), 2)
        out.append(UInt8(ascii: "."))
        if fraction % 1_000_000 == 0 { put(Int(fraction / 1_000_000), 3) }
        else if fraction % 1_000 == 0 { put(Int(fraction / 1_000), 6) }
        else { put(Int(fraction), 9) }
        out.append(UInt8(ascii: "Z"))
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    /// "YYYY-MM-DD" of a day counted from 1970-01-01.
    public static func formatDate(_ days: Int) -> String {
        let (y, m, d) = civilFromDays(days)
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
