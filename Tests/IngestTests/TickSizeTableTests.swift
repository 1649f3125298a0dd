import Ingest
import Testing

@Suite struct TickSizeTableTests {
    /// The synthetic session sends BIST's published table as `L` messages; the books read it back
    /// as the same table.
    @Test func anExchangesLTableReadsBackAsThePublishedOne() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 2, messages: 100, rate: 1_000, seed: 3))
        var books = BISTOrderBooks(symbols: try SymbolTable(BISTMarket.bist30), feed: 1)
        books.startSession(now: 0)
        for m in session.messages { m.withUnsafeBytes { books.apply(try! BISTITCH.decode($0).get(), receiveTime: 0) { _ in } } }
        #expect(books.instruments.count == 2)
        for i in books.instruments {
            #expect(i.tickSizes.count == 8 && i.tickSizeTable == TickSizeTable.bistEquity, "\(i.name.text)")
        }
    }

    @Test func pricesAreCheckedAgainstTheirBandOnly() throws {
        // Four decimals: steps of 0.005 from 1 through 9.95, then a gap, then steps of 0.05 from 20 on.
        let table = try #require(TickSizeTable(exchange: [.init(tickSize: 500, from: 200_000, to: UInt32.max), .init(tickSize: 50, from: 10_000, to: 99_500)],
                                               priceDecimals: 4))
        #expect(table.bands.map(\.from) == [Price("1")!.units, Price("20")!.units], "sorted by price")
        #expect(table.contains(Price("1")!) && table.contains(Price("9.95")!) && table.contains(Price("20.05")!) && table.contains(Price("100000")!))
        #expect(!table.contains(Price("9.947")!) && !table.contains(Price("20.02")!), "off the grid")
        #expect(!table.contains(Price("0.95")!) && !table.contains(Price("15")!) && !table.contains(.zero), "outside every band")
        #expect(table.stepAbove(Price("9.95")!) == Price("20") && table.stepBelow(Price("20")!) == Price("9.95"), "across the gap")
        #expect(table.stepAbove(Price("0.5")!) == Price("1") && table.step(at: Price("15")!) == Price("0.005")!.units)
    }

    @Test func whatIsNotATableIsRefused() {
        #expect(TickSizeTable(exchange: [], priceDecimals: 2) == nil)
        #expect(TickSizeTable(exchange: [.init(tickSize: 0, from: 0, to: 100)], priceDecimals: 2) == nil, "a step of zero")
        #expect(TickSizeTable(exchange: [.init(tickSize: 1, from: 0, to: 100), .init(tickSize: 2, from: 100, to: 200)], priceDecimals: 2) == nil, "overlapping")
        #expect(TickSizeTable(exchange: [.init(tickSize: 1, from: 0, to: 100)], priceDecimals: 7) == nil, "finer than Price")
        #expect(TickSizeTable(exchange: [.init(tickSize: 1, from: 100, to: 0)], priceDecimals: 2) == nil, "an empty band")
    }
}
