import Testing
@testable import Bench

@Suite struct RateSearchTests {
    @Test func upByHalfUntilAFailureThenTwoHalvings() {
        var s = RateSearch(start: 10_000)
        #expect(s.record(held: true) == 15_000)
        #expect(s.record(held: true) == 22_500)
        #expect(s.record(held: false) == 18_750)   // between 15,000 held and 22,500 failed
        #expect(s.record(held: true) == 20_625)
        #expect(s.record(held: false) == nil)
        #expect(s.highestHeld == 18_750)
    }

    @Test func fourHalvingsResolveTheRateToAboutThreePercent() {
        var s = RateSearch(start: 100_000, refinements: 4)
        #expect(s.record(held: true) == 150_000)
        #expect(s.record(held: false) == 125_000)
        #expect(s.record(held: false) == 112_500)
        #expect(s.record(held: true) == 118_750)
        #expect(s.record(held: true) == 121_875)
        #expect(s.record(held: true) == nil)
        #expect(s.highestHeld == 121_875, "within 3,125 (2.6%) of the 125,000 that failed")
    }

    @Test func aFirstStepThatFailsEndsTheSearchWithNothingHeld() {
        var s = RateSearch(start: 50_000)
        #expect(s.record(held: false) == nil)
        #expect(s.highestHeld == nil)
    }

    @Test func theCeilingIsTheLastStep() {
        var s = RateSearch(start: 1_000, ceiling: 1_500)
        #expect(s.record(held: true) == 1_500)
        #expect(s.record(held: true) == nil)
        #expect(s.highestHeld == 1_500)
    }
}
