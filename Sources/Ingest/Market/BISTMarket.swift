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

    /// The equity price step (tick size) that applies at `price`, in `Price` units.
    ///
    /// | price range (TRY) | step |
    /// | --- | --- |
    /// | below 20 | 0.01 |
    /// | 20 – 50 | 0.02 |
    /// | 50 – 100 | 0.05 |
    /// | 100 – 250 | 0.10 |
    /// | 250 – 500 | 0.25 |
    /// | 500 – 1000 | 0.50 |
    /// | 1000 – 2500 | 1.00 |
    /// | 2500 and above | 2.50 |
    public static func priceStep(at price: Price) -> Int64 {
        let lira = Price.unitsPerLira
        switch price.units {
        case ..<(20 * lira): return lira / 100
        case ..<(50 * lira): return lira / 50
        case ..<(100 * lira): return lira / 20
        case ..<(250 * lira): return lira / 10
        case ..<(500 * lira): return lira / 4
        case ..<(1000 * lira): return lira / 2
        case ..<(2500 * lira): return lira
        default: return lira * 5 / 2
        }
    }

    /// Whether `price` lies on the price-step grid of its band.
    public static func isOnPriceStep(_ price: Price) -> Bool {
        price.units > 0 && price.units % priceStep(at: price) == 0
    }

    /// The lowest valid price strictly above `price` (one step up, on the grid of the band it lands in).
    public static func priceStepAbove(_ price: Price) -> Price {
        let step = priceStep(at: price)
        let up = (price.units / step + 1) * step
        let upStep = priceStep(at: Price(units: up))
        return Price(units: (up + upStep - 1) / upStep * upStep)
    }

    /// The highest valid price strictly below `price`, or `price` itself if none is positive.
    public static func priceStepBelow(_ price: Price) -> Price {
        let below = price.units - 1
        guard below > 0 else { return price }
        let step = priceStep(at: Price(units: below))
        let snapped = below / step * step
        return snapped > 0 ? Price(units: snapped) : price
    }

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
