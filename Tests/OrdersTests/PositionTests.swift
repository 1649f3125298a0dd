import Ingest
import Testing

@testable import Orders

@Suite struct PositionTests {
    @Test func buysAddToTheBasisAndSellsTakeTheirShareOfIt() {
        var position = Position()
        position.buy(100, value: Money("1000")!, costs: Money("0.21")!)
        position.buy(200, value: Money("2200")!, costs: Money("0.46")!)
        #expect(position.shares == 300 && position.costBasis == Money("3200.67"))
        #expect(position.averageCost == Price("10.668900"))  // 3200.67 / 300 = 10.6689
        // A third of the shares takes a third of the basis, 1066.89 exactly.
        let pnl = position.sell(100, value: Money("1200")!, costs: Money("0.25")!)
        #expect(pnl == Money("132.86"))  // 1200 − 0.25 − 1066.89
        #expect(position.costBasis == Money("2133.78") && position.shares == 200)
        #expect(position.unrealised(at: Price("11")!) == Money("66.22"))  // 2200 − 2133.78
    }

    @Test func theLastShareSoldTakesWhatIsLeftSoTheBasisNeverDrifts() {
        var position = Position()
        position.buy(3, value: Money("10")!, costs: .zero)  // 3.333… a share
        #expect(position.sell(1, value: Money("4")!, costs: .zero) == Money("0.67"))  // takes 3.33
        #expect(position.sell(1, value: Money("4")!, costs: .zero) == Money("0.66"))  // takes 3.34 (6.67 × 1/2, half up)
        #expect(position.sell(1, value: Money("4")!, costs: .zero) == Money("0.67"))  // takes the 3.33 left
        #expect(position.shares == 0 && position.costBasis == .zero)
        #expect(position.realised == Money("2"))  // 12 − 10, to the kuruş
        #expect(position.averageCost == nil)
    }

    @Test func itNeverSellsSharesItDoesNotHold() {
        var position = Position()
        position.buy(5, value: Money("50")!, costs: .zero)
        #expect(position.sell(6, value: Money("60")!, costs: .zero) == nil)
        #expect(position.sell(0, value: .zero, costs: .zero) == nil)
        #expect(position.shares == 5 && position.costBasis == Money("50"))
    }
}
