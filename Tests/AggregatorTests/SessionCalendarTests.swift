import Aggregator
import Ingest
import Testing

/// Istanbul wall-clock time on a date, as UTC nanoseconds (Istanbul is UTC+3).
func istanbul(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int, _ s: Int = 0) -> Int64 {
    Int64(UTCTime.daysFromCivil(year: y, month: m, day: d)) * 86_400 * second + Int64((h - 3) * 3600 + min * 60 + s) * second
}

@Suite struct SessionCalendarTests {
    let calendar = SessionCalendar()

    @Test func phasesOfARegularDayFollowBISTsSchedule() {
        // Tuesday 24 September 2024.
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 9, 39, 59)) == .closed)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 9, 40)) == .openingAuction)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 9, 59, 59)) == .openingAuction)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 10, 0)) == .continuous)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 17, 59)) == .continuous)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 18, 0)) == .closingAuction)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 18, 10)) == .closed)
        #expect(calendar.phase(at: istanbul(2024, 9, 24, 23, 59)) == .closed)
    }

    @Test func weekendsHolidaysAndHalfDays() {
        #expect(calendar.phase(at: istanbul(2024, 9, 28, 11, 0)) == .closed, "Saturday")
        #expect(calendar.phase(at: istanbul(2024, 9, 29, 11, 0)) == .closed, "Sunday")
        #expect(calendar.phase(at: istanbul(2024, 10, 29, 11, 0)) == .closed, "Republic Day")
        #expect(calendar.phase(at: istanbul(2025, 3, 31, 11, 0)) == .closed, "Ramazan Bayramı")
        // 28 October is a half day: the continuous session ends at 12:30.
        #expect(calendar.phase(at: istanbul(2024, 10, 28, 12, 29)) == .continuous)
        #expect(calendar.phase(at: istanbul(2024, 10, 28, 12, 30)) == .closingAuction)
        #expect(calendar.phase(at: istanbul(2024, 10, 28, 14, 0)) == .closed)
    }

    @Test func theTradingDayStartsAtTheSessionStartAndSkipsClosedDays() throws {
        let tuesday = try #require(calendar.tradingDay(containing: istanbul(2024, 9, 24, 12, 0)))
        #expect(tuesday.date == "2024-09-24")
        #expect(tuesday.start == istanbul(2024, 9, 24, 9, 40) && tuesday.nextStart == istanbul(2024, 9, 25, 9, 40))
        // Before the session starts, the day still belongs to the last trading day.
        #expect(calendar.tradingDay(containing: istanbul(2024, 9, 25, 9, 39))?.date == "2024-09-24")
        #expect(calendar.tradingDay(containing: istanbul(2024, 9, 25, 9, 40))?.date == "2024-09-25")
        // Friday's day runs through the weekend to Monday's session start.
        let friday = try #require(calendar.tradingDay(containing: istanbul(2024, 9, 27, 18, 30)))
        #expect(friday.date == "2024-09-27" && friday.nextStart == istanbul(2024, 9, 30, 9, 40))
        #expect(calendar.tradingDay(containing: istanbul(2024, 9, 29, 12, 0))?.date == "2024-09-27")
        // Around Republic Day (Tuesday 29 October 2024), Monday's half day runs to Wednesday.
        #expect(calendar.tradingDay(containing: istanbul(2024, 10, 29, 12, 0))?.date == "2024-10-28")
    }

    @Test func istanbulDatesTurnAtTwentyOneUTC() {
        let day = UTCTime.daysFromCivil(year: 2024, month: 9, day: 24)
        #expect(SessionCalendar.istanbulDay(of: istanbul(2024, 9, 24, 0, 0)) == day)
        #expect(SessionCalendar.istanbulDay(of: istanbul(2024, 9, 24, 0, 0) - 1) == day - 1)
    }
}

@Suite struct SymbolStatisticsTests {
    @Test func dailyFiguresAreExactAndRollToTheNextDay() {
        var s = SymbolStatistics(symbol: garan)
        s.roll(to: 100)
        s.apply(trade(at: ten, price: 10_000_000, quantity: 3, seq: 1))
        s.apply(trade(at: ten + second, price: 10_000_001, quantity: 1, seq: 2))
        s.apply(trade(at: ten - second, price: 9_000_000, quantity: 1, seq: 3))  // out of order: not the last price
        s.apply(quote(at: ten + 2 * second, seq: 4))
        #expect(s.lastPrice == Price(units: 10_000_001) && s.lastTradeTime == ten + second)
        #expect(s.open == Price(units: 10_000_000) && s.high == Price(units: 10_000_001) && s.low == Price(units: 9_000_000))
        #expect(s.volume == 5 && s.tradeCount == 3 && s.turnover == 49_000_001)
        #expect(s.vwap == Price(units: 9_800_000), "49,000,001 / 5 = 9,800,000.2, rounded")
        #expect(s.bid == Price(units: 1_000_000) && s.ask == Price(units: 1_010_000))
        #expect(s.previousClose == nil && s.change == nil)

        s.roll(to: 101)
        #expect(s.previousClose == Price(units: 10_000_001) && s.volume == 0 && s.tradeCount == 0 && s.high == nil && s.vwap == nil)
        s.apply(trade(at: ten + 86_400 * second, price: 9_500_000, seq: 5))
        #expect(s.change == Price(units: -500_001))
        s.roll(to: 100)
        #expect(s.tradingDay == 101, "never back to an older day")
    }
}
