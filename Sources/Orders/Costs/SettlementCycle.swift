import Aggregator

/// When a fill's cash settles: `days` business days after its trading day on the BIST
/// calendar (T+2; T+1 is being trialled). Weekends and the calendar's holidays do not count.
public struct SettlementCycle: Hashable, Sendable {
    public var days: Int

    public init(days: Int) { self.days = days }

    public static let bist = SettlementCycle(days: 2)

    /// The value date of a trade made on `tradeDay` (days since 1970-01-01, an Istanbul date).
    public func valueDay(of tradeDay: Int, calendar: SessionCalendar) -> Int {
        var day = tradeDay
        var counted = 0
        // The calendar has no run of 60 closed days; the bound keeps a broken one from spinning.
        while counted < days && day - tradeDay < days + 60 {
            day += 1
            if calendar.isTradingDay(day) { counted += 1 }
        }
        return day
    }
}
