import Aggregator
import Ingest
import Testing

@testable import Orders

@Suite struct CostScheduleTests {
    /// 0.2 per mille commission, BSMV 5 % of it, exchange fee 0.003 %.
    static let schedule = CostSchedule(commission: Rate(percent: "0.02")!, bsmv: Rate(percent: "5")!, exchangeFee: Rate(percent: "0.003")!)

    @Test func eachLineIsRoundedHalfUpToTheKurusOnce() {
        // 157,500.00 TRY: commission 31.50, BSMV 1.575 → 1.58, fee 4.725 → 4.73.
        let costs = Self.schedule.costs(ofFilled: Money("157500")!)
        #expect(costs.commission == Money("31.50"))
        #expect(costs.bsmv == Money("1.58"))
        #expect(costs.exchangeFee == Money("4.73"))
        #expect(costs.total == Money("37.81"))
        // 12.34 TRY: commission 0.002468 → 0.00; BSMV from the exact commission, not from 0.00.
        let tiny = Self.schedule.costs(ofFilled: Money("12.34")!)
        #expect(tiny == TradeCosts())
        // 498.00 TRY: commission 0.0996 → 0.10, but BSMV is 5 % of 0.0996 = 0.00498 → 0.00 (of 0.10 it would be 0.01).
        #expect(Self.schedule.costs(ofFilled: Money("498")!) == TradeCosts(commission: Money("0.10")!, bsmv: .zero, exchangeFee: Money("0.01")!))
        #expect(Self.schedule.costs(ofFilled: Money("24999")!).bsmv == Money("0.25"))  // 4.9998 → 0.24999 → 0.25
        #expect(Self.schedule.costs(ofFilled: Money("9990")!).bsmv == Money("0.10"))  // 1.998 × 5 % = 0.0999 → 0.10
        #expect(Self.schedule.costs(ofFilled: Money("9890")!).bsmv == Money("0.10"))  // 1.978 → 0.0989 → 0.10
        #expect(Self.schedule.costs(ofFilled: Money("8900")!).bsmv == Money("0.09"))  // 1.78 → 0.089 → 0.09
    }

    @Test func anOrdersFillsSumToTheCostOfItsWholeValueHoweverItIsSplit() {
        // Three fills whose own costs would each round up: booked as differences, they sum to the whole's.
        let fills = [Money("12.35")!, Money("12.35")!, Money("12.35")!, Money("1000.25")!]
        var before = Money.zero
        var booked = TradeCosts()
        for value in fills {
            let line = Self.schedule.costs(ofFill: value, filledBefore: before)
            #expect(line.commission >= .zero && line.bsmv >= .zero && line.exchangeFee >= .zero)
            booked = TradeCosts(commission: booked.commission + line.commission, bsmv: booked.bsmv + line.bsmv,
                                exchangeFee: booked.exchangeFee + line.exchangeFee)
            before += value
        }
        #expect(booked == Self.schedule.costs(ofFilled: before))
    }

    @Test func moneyIsExactAndReadsOnlyPlainAmounts() {
        #expect(Money.value(of: 1000, at: Price("15.75")!) == Money(kurus: 1_575_000))
        #expect(Money.value(of: 1, at: Price("15.755")!) == nil)  // not a whole kuruş: never a BIST price
        #expect(Money.value(of: Int64.max / 100, at: Price("1000")!) == nil)
        #expect(Money("1250.5")?.kurus == 125_050)
        #expect(Money("1250.505") == nil && Money("1e3") == nil && Money("abc") == nil)
        #expect(Money(kurus: -5).description == "-0.05")
    }

    @Test func cashSettlesTwoBusinessDaysAfterTheTrade() {
        let calendar = SessionCalendar()
        func day(_ y: Int, _ m: Int, _ d: Int) -> Int { UTCTime.daysFromCivil(year: y, month: m, day: d) }
        #expect(SettlementCycle.bist.valueDay(of: day(2026, 12, 7), calendar: calendar) == day(2026, 12, 9))   // Monday → Wednesday
        #expect(SettlementCycle.bist.valueDay(of: day(2026, 12, 10), calendar: calendar) == day(2026, 12, 14)) // Thursday → Monday
        #expect(SettlementCycle(days: 1).valueDay(of: day(2026, 12, 11), calendar: calendar) == day(2026, 12, 14))
        // Across 29 October (Republic Day, a Thursday in 2026): Wednesday → Friday → Monday 2 November.
        #expect(SettlementCycle.bist.valueDay(of: day(2026, 10, 28), calendar: calendar) == day(2026, 11, 2))
        #expect(SettlementCycle(days: 0).valueDay(of: day(2026, 12, 7), calendar: calendar) == day(2026, 12, 7))
    }
}
