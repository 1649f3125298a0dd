import Aggregator
import Ingest
import Testing

@testable import Orders

@Suite struct OrderRulesTests {
    static func context(phase: SessionPhase = .continuous, limits: PriceLimits? = PriceLimits(lower: Price("0.01")!, upper: Price("100000")!),
                         openOrders: Int = 0, symbolKnown: Bool = true) -> PlacementContext {
        PlacementContext(symbolKnown: symbolKnown, phase: phase, limits: limits, maximumQuantity: 1_000_000,
                         maximumOrderValue: Money("1000000")!, openOrders: openOrders, maximumOpenOrders: 50, nextOpen: "2026-12-08 09:40 Istanbul")
    }

    static func limit(_ price: String, quantity: Int64 = 10, side: OrderSide = .buy, tif: TimeInForce = .day) -> OrderTerms {
        OrderTerms(symbol: "GARAN", side: side, type: .limit, timeInForce: tif, quantity: quantity, price: Price(price)!)
    }

    static func code(_ terms: OrderTerms, _ context: PlacementContext = context()) -> OrderRejection.Code? {
        do { try OrderRules.check(terms, in: context); return nil } catch { return error.code }
    }

    /// On the grid at each band's edges, and one step of the band below off it.
    @Test(arguments: [
        ("0.01", true), ("19.99", true), ("20.00", true), ("20.01", false), ("20.02", true), ("49.98", true), ("50.00", true),
        ("50.02", false), ("50.05", true), ("99.95", true), ("100.00", true), ("100.05", false), ("100.10", true), ("249.90", true),
        ("250.00", true), ("250.10", false), ("250.25", true), ("499.75", true), ("500.00", true), ("500.25", false), ("500.50", true),
        ("999.50", true), ("1000", true), ("1000.50", false), ("1001", true), ("2499", true), ("2500", true), ("2501", false),
        ("2502.50", true), ("15.755", false), ("15.750001", false),
    ])
    func aLimitPriceMustLieOnItsBandsStep(price: String, valid: Bool) {
        let code = Self.code(Self.limit(price, quantity: 1))
        #expect(valid ? code == nil : code == .priceOffStep, "\(price)")
    }

    @Test func aPriceMayBeExactlyAtALimitButNotOneStepBeyond() throws {
        let limits = try #require(PriceLimits.daily(previousClose: Price("100.10")!, margin: Rate(percent: "10")!))
        let context = Self.context(limits: limits)
        #expect(Self.code(Self.limit("110.10"), context) == nil)
        #expect(Self.code(Self.limit("110.20"), context) == .priceAboveLimit)
        #expect(Self.code(Self.limit("90.10"), context) == nil)
        #expect(Self.code(Self.limit("90.05"), context) == .priceBelowLimit)
        #expect(Self.code(Self.limit("100.10"), Self.context(limits: nil)) == .noPriceLimits)
    }

    /// Phase × type × time in force, by hand: continuous takes all but a MARKET order that is not
    /// IOC; an auction takes DAY limit orders; a closed market takes nothing.
    @Test func eachPhaseTakesItsTypesAndTimesInForce() {
        let expected: [SessionPhase: [String]] = [  // LIMIT DAY/IOC/FOK, MARKET DAY/IOC/FOK
            .continuous: ["ok", "ok", "ok", "market_requires_ioc", "ok", "market_requires_ioc"],
            .openingAuction: ["ok", "not_allowed_in_phase", "not_allowed_in_phase", "market_requires_ioc", "not_allowed_in_phase", "market_requires_ioc"],
            .closingAuction: ["ok", "not_allowed_in_phase", "not_allowed_in_phase", "market_requires_ioc", "not_allowed_in_phase", "market_requires_ioc"],
            .closed: Array(repeating: "market_closed", count: 6),
        ]
        #expect(Set(expected.keys) == Set(SessionPhase.allCases))
        for (phase, row) in expected {
            var i = 0
            for type in [OrderType.limit, .market] {
                for tif in [TimeInForce.day, .ioc, .fok] {
                    let terms = OrderTerms(symbol: "GARAN", side: .buy, type: type, timeInForce: tif, quantity: 10, price: type == .limit ? Price("10")! : nil)
                    #expect((Self.code(terms, Self.context(phase: phase))?.rawValue ?? "ok") == row[i], "\(phase) \(type) \(tif)")
                    i += 1
                }
            }
        }
        let closed = OrderRules.phaseVerdict(phase: .closed, type: .limit, timeInForce: .day, nextOpen: "2026-12-08 09:40 Istanbul")
        #expect(closed?.message == "the market is closed; it opens at 2026-12-08 09:40 Istanbul")
    }

    @Test func quantityValueAndOpenOrdersStopAtTheirMaximums() {
        #expect(Self.code(Self.limit("1", quantity: 1_000_000)) == nil)
        #expect(Self.code(Self.limit("1", quantity: 1_000_001)) == .quantityAboveMaximum)
        #expect(Self.code(Self.limit("100", quantity: 10_000)) == nil)              // exactly 1,000,000 TRY
        #expect(Self.code(Self.limit("100.10", quantity: 10_000)) == .orderValueAboveMaximum)
        #expect(Self.code(Self.limit("99.95", quantity: 10_005)) == nil)                     // 999,999.75
        #expect(Self.code(Self.limit("99.95", quantity: 10_006)) == .orderValueAboveMaximum)  // 1,000,099.70
        let market = OrderTerms(symbol: "GARAN", side: .buy, type: .market, timeInForce: .ioc, quantity: 10_000, price: nil)
        #expect(Self.code(market, Self.context(limits: PriceLimits(lower: Price("90")!, upper: Price("100")!))) == nil)
        #expect(Self.code(market, Self.context(limits: PriceLimits(lower: Price("90")!, upper: Price("100.10")!))) == .orderValueAboveMaximum)
        #expect(Self.code(Self.limit("10"), Self.context(openOrders: 49)) == nil)
        #expect(Self.code(Self.limit("10"), Self.context(openOrders: 50)) == .tooManyOpenOrders)
        #expect(Self.code(Self.limit("10"), Self.context(symbolKnown: false)) == .unknownSymbol)
    }

    @Test func theFirstRuleThatFailsAnswers() {
        // Unknown symbol, off the grid and closed at once: the symbol is named first.
        let code = Self.code(Self.limit("20.01"), Self.context(phase: .closed, symbolKnown: false))
        #expect(code == .unknownSymbol)
        #expect(OrderRules.all.count == 7)
    }
}
