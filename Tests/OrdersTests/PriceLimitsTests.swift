import Ingest
import Testing

@testable import Orders

@Suite struct PriceLimitsTests {
    static let tenPercent = Rate(percent: "10")!

    /// Worked by hand from BIST's table: ±10 % of the base, the upper limit down and the lower
    /// limit up onto the grid of the band each falls in.
    @Test(arguments: [
        ("100.10", "100.10", "90.10", "110.10"),   // 90.09 → 90.10 (0.05 band), 110.11 → 110.10 (0.10 band)
        ("100.14", "100.10", "90.10", "110.10"),   // a close off the grid is rounded to the nearest step first
        ("100.15", "100.20", "90.20", "110.20"),   // half way: up; 90.18 → 90.20, 110.22 → 110.20
        ("19.99", "19.99", "18.00", "21.98"),      // 17.991 → 18.00; 21.989 → 21.98 (0.02 band)
        ("21.00", "21.00", "18.90", "23.10"),
        ("1000", "1000", "900", "1100"),           // 900 is on the 0.50 grid, 1100 on the 1.00 grid
        ("2499", "2499", "2250", "2747.50"),       // 2249.1 → 2250 (1.00 band); 2748.9 → 2747.50 (2.50 band)
        ("0.05", "0.05", "0.05", "0.05"),          // 0.045 → 0.05 and 0.055 → 0.05: a one-price band
    ])
    func dailyLimitsAreTheBaseTenPercentRoundedInward(close: String, base: String, lower: String, upper: String) throws {
        let limits = try #require(PriceLimits.daily(previousClose: Price(close)!, margin: Self.tenPercent))
        #expect(limits.base == Price(base))
        #expect(limits.lower == Price(lower))
        #expect(limits.upper == Price(upper))
        #expect(TickSizeTable.bistEquity.contains(limits.lower) && TickSizeTable.bistEquity.contains(limits.upper))
    }

    @Test func theMarginIsData() throws {
        let limits = try #require(PriceLimits.daily(previousClose: Price("100")!, margin: Rate(percent: "20")!))
        #expect(limits.lower == Price("80") && limits.upper == Price("120"))
        #expect(PriceLimits.daily(previousClose: Price("100")!, margin: Rate(percent: "0")!) == PriceLimits(lower: Price("100")!, upper: Price("100")!, base: Price("100")))
        #expect(PriceLimits.daily(previousClose: .zero, margin: Self.tenPercent) == nil)
        #expect(PriceLimits.daily(previousClose: Price("100")!, margin: Rate(percent: "100")!) == nil)  // no positive lower limit
    }

    @Test func theClosingAuctionBandIsThreePercentOfTheLastPrice() throws {
        let limits = try #require(PriceLimits.closingAuction(lastPrice: Price("100.10")!, margin: Rate(percent: "3")!))
        #expect(limits.lower == Price("97.10"))   // 97.097 → 97.10 (0.05 band)
        #expect(limits.upper == Price("103.10"))  // 103.103 → 103.10
    }

    @Test func ratesReadOnlyPlainNonNegativePercents() {
        #expect(Rate(percent: "0.003")?.units == 300_000)
        #expect(Rate(percent: "10")?.units == 1_000_000_000)
        #expect(Rate(percent: "-1") == nil)
        #expect(Rate(percent: "1e1") == nil)
        #expect(Rate(percent: "0.000000001") == nil)
        #expect(Rate(percent: "ten") == nil)
    }
}
