import Foundation

/// Facts about Borsa Istanbul equities that feeds and generators rely on.
public enum BISTMarket {
    /// BIST-30 constituents (a representative recent composition), used as the default symbol
    /// universe and by the synthetic feed.
    public static let bist30: [String] = [
        "AKBNK", "ALARK", "ARCLK", "ASELS", "BIMAS", "EKGYO", "ENKAI", "EREGL", "FROTO", "GARAN",
        "GUBRF", "HEKTS", "ISCTR", "KCHOL", "KONTR", "KOZAL", "KRDMD", "ODAS", "OYAKC", "PETKM",
        "PGSUS", "SAHOL", "SASA", "SISE", "TCELL", "THYAO", "TOASO", "TUPRS", "VAKBN", "YKBNK",
    ]

    // Equity price steps: `TickSizeTable.bistEquity`.

    /// Start of the continuous session (10:00 Europe/Istanbul) on a calendar date, in UTC ns.
    public static func continuousSessionStart(year: Int, month: Int, day: Int) -> Int64 {
        let localMidnight = Int64(UTCTime.daysFromCivil(year: year, month: month, day: day)) * 86_400
        let offset = Int64(istanbulUTCOffsetSeconds(atUTCSeconds: localMidnight))
        return (localMidnight + 10 * 3600 - offset) * UTCTime.nanosPerSecond
    }

    /// Length of the continuous session (10:00–18:00).
    public static let continuousSessionSeconds: Int64 = 8 * 3600

    /// Europe/Istanbul's offset from UTC at an instant, from the system's time zone database
    /// (UTC+3 all year since 2016; the database also knows the older rules).
    public static func istanbulUTCOffsetSeconds(atUTCSeconds seconds: Int64) -> Int {
        guard let zone = TimeZone(identifier: "Europe/Istanbul") else { return 3 * 3600 }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
