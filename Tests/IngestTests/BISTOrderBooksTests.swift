import Ingest
import Testing

/// BIST ITCH order books and the ticks they make, against a model written here independently
/// (plain dictionaries of orders, best prices found by scanning).
@Suite struct BISTOrderBooksTests {
    /// What a session should produce, computed without `OrderBook` or `BISTOrderBooks`.
    struct Model {
        struct Order { var buy: Bool; var price: Int64; var quantity: Int64; var book: UInt32 }
        var symbols: [UInt32: String] = [:]
        var orders: [UInt64: Order] = [:]
        /// (symbol, price in thousandths, shares), in order.
        var trades: [(String, Int64, Int64)] = []

        mutating func apply(_ m: BISTITCH.Message) {
            switch m {
            case .orderBookDirectory(_, let book, let symbol, _, _, _, _, _, _, _): symbols[book] = symbol.text
            case .addOrder(_, let id, let book, let side, _, let q, let p, _, _, _): orders[id] = Order(buy: side == .buy, price: Int64(p), quantity: Int64(q), book: book)
            case .orderExecuted(_, let id, _, _, let q, _, _):
                let o = orders[id]!
                trades.append((symbols[o.book]!, o.price, Int64(q)))
                reduce(id, Int64(q))
            case .orderExecutedWithPrice(_, let id, _, _, let q, _, _, let p, _, let printable):
                if printable { trades.append((symbols[orders[id]!.book]!, Int64(p), Int64(q))) }
                reduce(id, Int64(q))
            case .orderDelete(_, let id, _, _): orders[id] = nil
            case .trade(_, _, _, _, let q, let book, let p, let printable, _): if printable { trades.append((symbols[book]!, Int64(p), Int64(q))) }
            default: break
            }
        }

        mutating func reduce(_ id: UInt64, _ q: Int64) {
            orders[id]!.quantity -= q
            if orders[id]!.quantity == 0 { orders[id] = nil }
        }

        func best(_ book: UInt32) -> (bid: Int64, ask: Int64) {
            let mine = orders.values.filter { $0.book == book }
            return (mine.filter(\.buy).map(\.price).max() ?? 0, mine.filter { !$0.buy }.map(\.price).min() ?? 0)
        }
    }

    static func decoded(_ session: SyntheticITCHSession) -> [BISTITCH.Message] {
        session.messages.map { m in m.withUnsafeBytes { try! BISTITCH.decode($0).get() } }
    }

    @Test func aSyntheticSessionMakesTheModelsTradesQuotesAndBooks() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 6, messages: 20_000, seed: 3))
        let symbols = try SymbolTable(BISTMarket.bist30.prefix(6))
        var books = BISTOrderBooks(symbols: symbols, feed: 9)
        books.startSession(now: 0)
        var model = Model()
        var ticks: [Tick] = []
        var lastQuote: [SymbolID: (Price, Price)] = [:]
        for m in Self.decoded(session) {
            model.apply(m)
            books.apply(m, receiveTime: 42) { ticks.append($0) }
            // After each message, the last quote of every symbol is the model's best prices.
            if case .seconds = m { continue }
            if let t = ticks.last, t.kind == .quote { lastQuote[t.symbol] = (t.bid, t.ask) }
        }
        #expect(books.stats.bookRejects == 0 && books.stats.unknownBooks == 0 && books.stats.badValues == 0)
        let trades = ticks.filter { $0.kind == .trade }
        #expect(trades.count == model.trades.count && trades.count > 1_000)
        for (t, e) in zip(trades, model.trades) {
            #expect(symbols.name(of: t.symbol) == e.0 && t.price == Price(units: e.1 * 1_000) && t.quantity == e.2)
        }
        #expect(ticks.allSatisfy { $0.feed == 9 && $0.receiveTime == 42 && TickValidation.check($0) == nil })
        for (name, book) in session.books {
            let id = symbols.id(for: name)!
            let expected = model.best(book)
            let instrument = try #require(books.instrument(book))
            #expect(instrument.book.bestBid?.price ?? 0 == expected.bid && instrument.book.bestAsk?.price ?? 0 == expected.ask, "\(name)")
            #expect(lastQuote[id]?.0 == Price(units: expected.bid * 1_000) && lastQuote[id]?.1 == Price(units: expected.ask * 1_000), "\(name)")
            #expect(instrument.tickSizes.count == 8)
        }
        // Exchange times: T seconds since the epoch plus each message's nanoseconds, in order.
        let start = BISTMarket.continuousSessionStart(year: 2024, month: 9, day: 24)
        #expect(ticks.first!.exchangeTime >= start && ticks.map(\.exchangeTime) == ticks.map(\.exchangeTime).sorted())
    }

    @Test func quotesFollowTheTopOfBookAndStopWhenStale() throws {
        let symbols = try SymbolTable(["GARAN"])
        var books = BISTOrderBooks(symbols: symbols, feed: 1)
        books.startSession(now: 0)
        var ticks: [Tick] = []
        func apply(_ m: BISTITCH.Message) { books.apply(m, receiveTime: 1) { ticks.append($0) } }
        apply(.seconds(1_727_161_200))
        apply(.orderBookDirectory(nanos: 0, book: 5, symbol: ExchangeSymbol("GARAN"), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 2,
                                  nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        apply(.addOrder(nanos: 10, order: 1, book: 5, side: .buy, rankingSequence: 1, quantity: 100, price: 12_130, attributes: 0, lotType: 2, rankingTime: 0))
        apply(.addOrder(nanos: 11, order: 2, book: 5, side: .buy, rankingSequence: 2, quantity: 100, price: 12_120, attributes: 0, lotType: 2, rankingTime: 0))
        apply(.addOrder(nanos: 12, order: 3, book: 5, side: .sell, rankingSequence: 3, quantity: 50, price: 12_150, attributes: 0, lotType: 2, rankingTime: 0))
        // A deeper bid does not move the top: two quotes, not three.
        #expect(ticks.map(\.kind) == [.quote, .quote])
        #expect(ticks.last!.bid == Price("121.30")! && ticks.last!.ask == Price("121.50")!)
        #expect(ticks.last!.exchangeTime == 1_727_161_200 * 1_000_000_000 + 12)
        apply(.orderExecuted(nanos: 20, order: 1, book: 5, side: .buy, quantity: 100, match: 1, comboGroup: 0))
        #expect(ticks.count == 4 && ticks[2].kind == .trade && ticks[2].price == Price("121.30")! && ticks[2].side == .sell && ticks[2].quantity == 100)
        #expect(ticks[3].kind == .quote && ticks[3].bid == Price("121.20")!)
        apply(.orderExecutedWithPrice(nanos: 21, order: 3, book: 5, side: .sell, quantity: 10, match: 2, comboGroup: 0, price: 12_140,
                                      occurredAtCross: false, printable: false))
        #expect(ticks.count == 4, "a non-printable execution prints no trade and leaves the top price")
        books.markAllStale()
        #expect(books.staleSymbols == [symbols.id(for: "GARAN")!])
        apply(.orderDelete(nanos: 30, order: 2, book: 5, side: .buy))
        apply(.trade(nanos: 31, match: 3, comboGroup: 0, side: nil, quantity: 7, book: 5, price: 12_140, printable: true, occurredAtCross: false))
        #expect(ticks.count == 5 && ticks[4].kind == .trade && ticks[4].quantity == 7, "a stale book makes trades but no quotes")
        // A new session forgets every instrument.
        books.startSession(now: 0)
        #expect(books.instruments.isEmpty && books.staleSymbols.isEmpty)
    }

    @Test func instrumentsOutsideTheUniverseAndBadMessagesAreCounted() throws {
        var books = BISTOrderBooks(symbols: try SymbolTable(["GARAN"]), feed: 1)
        books.startSession(now: 0)
        var ticks: [Tick] = []
        func apply(_ m: BISTITCH.Message) { books.apply(m, receiveTime: 1) { ticks.append($0) } }
        apply(.seconds(1_727_161_200))
        apply(.orderBookDirectory(nanos: 0, book: 6, symbol: ExchangeSymbol("XU030"), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 2,
                                  nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        apply(.addOrder(nanos: 1, order: 1, book: 6, side: .buy, rankingSequence: 1, quantity: 100, price: 100, attributes: 0, lotType: 2, rankingTime: 0))
        apply(.orderExecuted(nanos: 2, order: 1, book: 6, side: .buy, quantity: 10, match: 1, comboGroup: 0))
        #expect(ticks.isEmpty && books.stats.outsideUniverse == 1)
        #expect(books.instrument(6)?.book.bestBid?.quantity == 90, "its book is still kept right")
        apply(.orderDelete(nanos: 3, order: 99, book: 6, side: .buy))
        apply(.addOrder(nanos: 4, order: 2, book: 77, side: .buy, rankingSequence: 1, quantity: 1, price: 1, attributes: 0, lotType: 2, rankingTime: 0))
        apply(.orderBookDirectory(nanos: 0, book: 8, symbol: ExchangeSymbol("GARAN"), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 9,
                                  nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        #expect(books.stats.bookRejects == 1 && books.stats.unknownBooks == 1 && books.stats.badValues == 1)
        #expect(books.instrument(8)?.symbol == nil, "nine price decimals cannot be held exactly")
    }

    /// With a universe to join, an announced instrument becomes a symbol at once and its trades are
    /// ticks; a name that is not a symbol, or one past the universe's limit, stays outside.
    @Test func announcedInstrumentsJoinAUniverseUpToItsLimit() throws {
        let start = try SymbolTable(["GARAN"])
        let universe = SymbolUniverse(start, limit: 2)
        var books = BISTOrderBooks(symbols: start, joining: universe, feed: 1)
        books.startSession(now: 0)
        var ticks: [Tick] = []
        func apply(_ m: BISTITCH.Message) { books.apply(m, receiveTime: 1) { ticks.append($0) } }
        func announce(_ book: UInt32, _ name: String) {
            apply(.orderBookDirectory(nanos: 0, book: book, symbol: ExchangeSymbol(name), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 2,
                                      nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        }
        apply(.seconds(1_727_161_200))
        announce(5, "GARAN")
        announce(6, "ENKAI")
        announce(7, "bad name")
        announce(8, "EREGL")
        #expect(books.instrument(5)?.symbol == SymbolID(0) && books.instrument(6)?.symbol == SymbolID(1))
        #expect(books.instrument(7)?.symbol == nil && books.instrument(8)?.symbol == nil, "not a symbol; and the limit of two is reached")
        #expect(books.joinedNames == ["ENKAI"] && books.outsideNames == ["bad name", "EREGL"] && books.stats.outsideUniverse == 2)
        #expect(universe.id(for: "ENKAI") == SymbolID(1) && universe.count == 2)
        apply(.trade(nanos: 5, match: 1, comboGroup: 0, side: nil, quantity: 3, book: 6, price: 4_215, printable: true, occurredAtCross: false))
        apply(.trade(nanos: 6, match: 2, comboGroup: 0, side: nil, quantity: 1, book: 8, price: 100, printable: true, occurredAtCross: false))
        #expect(ticks.map(\.symbol) == [SymbolID(1)] && ticks.first?.price == Price("42.15") && ticks.first?.quantity == 3)
        // Announced again (a new session): the same id, and nothing new joins.
        books.startSession(now: 0)
        announce(9, "ENKAI")
        #expect(books.instrument(9)?.symbol == SymbolID(1) && books.joinedNames == ["ENKAI"])
    }

    /// The stale count follows the instruments: those announced after a loss start clean, one
    /// announced again replaces its stale book, and freshness or a new session clears it.
    @Test func theStaleCountIsThatOfStaleInstruments() throws {
        var books = BISTOrderBooks(symbols: try SymbolTable(["GARAN", "AKBNK", "SASA"]), feed: 1)
        books.startSession(now: 0)
        func announce(_ book: UInt32, _ name: String) {
            books.apply(.orderBookDirectory(nanos: 0, book: book, symbol: ExchangeSymbol(name), isin: ExchangeSymbol(""), financialProduct: 5,
                                            priceDecimals: 2, nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1), receiveTime: 1) { _ in }
        }
        announce(1, "GARAN")
        announce(2, "AKBNK")
        books.markAllStale()
        #expect(books.staleCount == 2)
        announce(3, "SASA")
        #expect(books.staleCount == 2 && books.instrument(3)?.stale == false && books.staleNames == ["GARAN", "AKBNK"])
        announce(2, "AKBNK")
        #expect(books.staleCount == 1 && books.staleNames == ["GARAN"])
        books.markAllFresh(receiveTime: 1) { _ in }
        #expect(books.staleCount == 0)
        books.markAllStale()
        books.startSession(now: 0)
        #expect(books.staleCount == 0)
    }

    @Test func midnightSecondsCountFromIstanbulMidnight() throws {
        var books = BISTOrderBooks(symbols: try SymbolTable(["GARAN"]), feed: 1, secondsBase: .midnight)
        // 2024-09-24 07:30 UTC is 10:30 in Istanbul; midnight there was 2024-09-23 21:00 UTC.
        let now: Int64 = 1_727_163_000 * 1_000_000_000
        books.startSession(now: now)
        var ticks: [Tick] = []
        books.apply(.seconds(10 * 3600), receiveTime: now) { ticks.append($0) }
        books.apply(.orderBookDirectory(nanos: 0, book: 5, symbol: ExchangeSymbol("GARAN"), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 2,
                                        nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1), receiveTime: now) { ticks.append($0) }
        books.apply(.trade(nanos: 5, match: 1, comboGroup: 0, side: nil, quantity: 1, book: 5, price: 100, printable: true, occurredAtCross: false),
                    receiveTime: now) { ticks.append($0) }
        let expected: Int64 = (1_727_125_200 + 10 * 3600) * 1_000_000_000 + 5
        #expect(ticks.map(\.exchangeTime) == [expected])
    }

    @Test func changedBooksAreTakenOnceAsDepthSnapshots() throws {
        let symbols = try SymbolTable(["GARAN", "AKBNK"])
        var books = BISTOrderBooks(symbols: symbols, feed: 1)
        books.startSession(now: 0)
        func apply(_ m: BISTITCH.Message) { books.apply(m, receiveTime: 1) { _ in } }
        apply(.seconds(1_727_161_200))
        for (book, name) in [(5 as UInt32, "GARAN"), (6, "AKBNK"), (7, "XU100")] {
            apply(.orderBookDirectory(nanos: 0, book: book, symbol: ExchangeSymbol(name), isin: ExchangeSymbol(""), financialProduct: 5, priceDecimals: 2,
                                      nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        }
        for (i, price) in [12_130, 12_120, 12_110].enumerated() {
            apply(.addOrder(nanos: UInt32(i), order: UInt64(i + 1), book: 5, side: .buy, rankingSequence: 1, quantity: 100, price: Int32(price), attributes: 0,
                            lotType: 2, rankingTime: 0))
        }
        apply(.addOrder(nanos: 7, order: 9, book: 5, side: .buy, rankingSequence: 1, quantity: 5, price: 12_130, attributes: 0, lotType: 2, rankingTime: 0))
        apply(.addOrder(nanos: 8, order: 10, book: 7, side: .sell, rankingSequence: 1, quantity: 5, price: 100, attributes: 0, lotType: 2, rankingTime: 0))
        var taken: [DepthSnapshot] = []
        books.takeChanged(levels: 2) { taken.append($0) }
        #expect(taken.count == 1, "GARAN only: AKBNK did not change, XU100 is outside the universe")
        let d = try #require(taken.first)
        #expect(d.symbol == symbols.id(for: "GARAN") && d.time == 1_727_161_200 * 1_000_000_000 + 7)
        #expect(d.bids == [.init(price: Price("121.3")!, quantity: 105, orders: 2), .init(price: Price("121.2")!, quantity: 100, orders: 1)] && d.asks.isEmpty)
        taken = []
        books.takeChanged(levels: 2) { taken.append($0) }
        #expect(taken.isEmpty, "nothing changed since")
        apply(.orderDelete(nanos: 9, order: 1, book: 5, side: .buy))
        books.markAllStale()
        books.takeChanged(levels: 2) { taken.append($0) }
        #expect(taken.isEmpty, "a stale book publishes no depth")
    }

    @Test func theDepthBoardKeepsTheLatestAndAShortHistory() {
        let board = DepthBoard(symbolCount: 2, historyLength: 3)
        let garan = SymbolID(0)
        func snap(_ t: Int64) -> DepthSnapshot { DepthSnapshot(symbol: garan, time: t, bids: [.init(price: Price(units: t), quantity: 1, orders: 1)], asks: []) }
        #expect(board.latest(garan) == nil && board.changed(since: 0).snapshots.isEmpty)
        for t in [10, 20, 30, 40] as [Int64] { board.publish(snap(t)) }
        #expect(board.version.load(ordering: .relaxed) == 4 && board.latest(garan)?.time == 40)
        #expect(board.depth(of: garan, asOf: 35)?.time == 30 && board.depth(of: garan, asOf: 40)?.time == 40)
        #expect(board.depth(of: garan, asOf: 15) == nil, "10 fell out of the three kept")
        let (version, changed) = board.changed(since: 2)
        #expect(version == 4 && changed.map(\.time) == [40])
        #expect(board.changed(since: 4).snapshots.isEmpty && board.depth(of: SymbolID(1), asOf: 100) == nil)
    }

    @Test func theDirectoryIsTakenOnceAsItGrows() throws {
        var books = BISTOrderBooks(symbols: try SymbolTable(["GARAN"]), feed: 1)
        books.startSession(now: 0)
        func apply(_ m: BISTITCH.Message) { books.apply(m, receiveTime: 1) { _ in } }
        apply(.orderBookDirectory(nanos: 0, book: 5, symbol: ExchangeSymbol("GARAN"), isin: ExchangeSymbol("TRAGARAN91N1"), financialProduct: 5,
                                  priceDecimals: 2, nominalDecimals: 0, oddLot: 1, roundLot: 100, blockLot: 1))
        apply(.orderBookDirectory(nanos: 0, book: 6, symbol: ExchangeSymbol("XU030"), isin: ExchangeSymbol("TRAXU03000"), financialProduct: 5,
                                  priceDecimals: 3, nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1))
        apply(.tickSize(nanos: 0, book: 5, tickSize: 1, from: 0, to: 1_999))
        apply(.tickSize(nanos: 0, book: 5, tickSize: 2, from: 2_000, to: 4_998))
        var taken: [BISTOrderBooks.Instrument] = []
        #expect(books.hasDirectoryChanges)
        books.takeDirectoryChanges { taken.append($0) }
        #expect(taken.map(\.orderBook) == [5, 6] && taken.map(\.name.text) == ["GARAN", "XU030"], "outside the universe too")
        #expect(taken[0].isin.text == "TRAGARAN91N1" && taken[0].roundLot == 100 && taken[0].priceDecimals == 2)
        #expect(taken[0].tickSizes == [.init(tickSize: 1, from: 0, to: 1_999), .init(tickSize: 2, from: 2_000, to: 4_998)])
        #expect(!books.hasDirectoryChanges)
        apply(.tickSize(nanos: 0, book: 6, tickSize: 5, from: 0, to: 100))
        taken = []
        books.takeDirectoryChanges { taken.append($0) }
        #expect(taken.map(\.orderBook) == [6] && taken[0].tickSizes.count == 1)
    }

    @Test func theExchangeDirectoryKeepsTheLatestEntryPerInstrument() {
        let directory = ExchangeDirectory()
        func entry(_ book: UInt32, _ lot: UInt32) -> ExchangeInstrument {
            ExchangeInstrument(feed: "bist", orderBook: book, symbol: "GARAN", isin: "", priceDecimals: 2, roundLot: lot, tickSizes: [])
        }
        directory.post(entry(5, 1))
        directory.post(entry(6, 1))
        directory.post(entry(5, 100))
        let taken = directory.take()
        #expect(taken.map(\.orderBook) == [6, 5] && taken.last?.roundLot == 100)
        #expect(directory.take().isEmpty)
        directory.post(entry(5, 200))
        directory.putBack(taken)
        #expect(directory.take().map { "\($0.orderBook)/\($0.roundLot)" } == ["6/1", "5/200"], "a newer post wins over what was put back")
    }
}
