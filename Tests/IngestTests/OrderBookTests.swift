import Ingest
import Testing

@Suite struct OrderBookTests {
    @Test func levelsFollowAddsExecutionsCancelsDeletesAndReplaces() throws {
        var book = OrderBook()
        try book.add(order: 1, side: .bid, price: 100, quantity: 10)
        try book.add(order: 2, side: .bid, price: 101, quantity: 5)
        try book.add(order: 3, side: .bid, price: 100, quantity: 7)
        try book.add(order: 4, side: .ask, price: 103, quantity: 4)
        try book.add(order: 5, side: .ask, price: 102, quantity: 6)
        #expect(book.bids == [.init(price: 101, quantity: 5, orders: 1), .init(price: 100, quantity: 17, orders: 2)])
        #expect(book.asks == [.init(price: 102, quantity: 6, orders: 1), .init(price: 103, quantity: 4, orders: 1)])
        #expect(book.bestBid?.price == 101 && book.bestAsk?.price == 102)

        let fill = try book.reduce(order: 2, by: 5)  // the best bid trades away
        #expect(fill.side == .bid && fill.price == 101 && fill.remaining == 0)
        #expect(book.bestBid == .init(price: 100, quantity: 17, orders: 2))
        try book.reduce(order: 1, by: 4)
        #expect(book.bestBid == .init(price: 100, quantity: 13, orders: 2))
        #expect(try book.delete(order: 3) == (.bid, 100, 7))
        try book.replace(order: 5, with: 6, price: 104, quantity: 2)
        #expect(book.asks == [.init(price: 103, quantity: 4, orders: 1), .init(price: 104, quantity: 2, orders: 1)])
        #expect(book.depth(1).asks.map(\.price) == [103] && book.orderCount == 3)
    }

    @Test func messagesThatDoNotFitAreErrorsAndChangeNothing() throws {
        var book = OrderBook()
        try book.add(order: 1, side: .ask, price: 50, quantity: 3)
        let before = book.asks
        #expect(throws: OrderBook.Failure.duplicateOrder(1)) { try book.add(order: 1, side: .ask, price: 51, quantity: 1) }
        #expect(throws: OrderBook.Failure.unknownOrder(9)) { try book.reduce(order: 9, by: 1) }
        #expect(throws: OrderBook.Failure.tooManyShares(order: 1, resting: 3, asked: 4)) { try book.reduce(order: 1, by: 4) }
        #expect(throws: OrderBook.Failure.badQuantity(0)) { try book.add(order: 2, side: .bid, price: 49, quantity: 0) }
        #expect(throws: OrderBook.Failure.unknownOrder(7)) { try book.delete(order: 7) }
        try book.add(order: 2, side: .bid, price: 49, quantity: 1)
        #expect(throws: OrderBook.Failure.duplicateOrder(2)) { try book.replace(order: 1, with: 2, price: 52, quantity: 1) }
        #expect(book.asks == before && book.orderCount == 2)
    }

    /// The public ITCH 5.0 sample through the books, against a model written independently here:
    /// orders in a plain dictionary, trades summed per stock, levels summed at the end.
    @Test func theITCH50SampleReplaysToTheTradesAndBooksOfAPlainModel() throws {
        var replay = ITCH50Replay()
        var trades: [ITCH50Replay.Trade] = []
        struct Resting { var locate: UInt16; var buy: Bool; var price: Int64; var shares: Int64 }
        var orders: [UInt64: Resting] = [:]
        var names: [UInt16: String] = [:]
        var modelRejected: [UInt8: Int] = [:]
        var modelTrades: [(symbol: String, price: Int64, shares: Int64)] = []
        func take(_ r: UInt64, _ n: Int64) {
            orders[r]!.shares -= n
            if orders[r]!.shares == 0 { orders[r] = nil }
        }
        try ITCH50File(path: NasdaqITCH50Tests.sample).forEachMessage { bytes in
            let header = NasdaqITCH50.header(bytes)
            let message = try NasdaqITCH50.decode(bytes).get()
            if let t = replay.apply(header, message) { trades.append(t) }
            // The model.
            let l = header.stockLocate
            // A message about an order the file never added (the sample is a cut of a day) is
            // counted, as the books count it, and changes nothing.
            let known: UInt64? = switch message {
            case .orderExecuted(let r, _, _), .orderExecutedWithPrice(let r, _, _, _, _), .orderCancel(let r, _), .orderDelete(let r): r
            case .orderReplace(let r, _, _, _): r
            default: nil
            }
            if let r = known, orders[r] == nil {
                modelRejected[header.type, default: 0] += 1
                return
            }
            switch message {
            case .stockDirectory(let s, _, _): names[l] = s.text
            case .addOrder(let r, let side, let n, _, let p, _): orders[r] = Resting(locate: l, buy: side == .buy, price: p.units, shares: Int64(n))
            case .orderExecuted(let r, let n, _):
                modelTrades.append((names[l] ?? "", orders[r]!.price, Int64(n)))
                take(r, Int64(n))
            case .orderExecutedWithPrice(let r, let n, _, let printable, let p):
                if printable { modelTrades.append((names[l] ?? "", p.units, Int64(n))) }
                take(r, Int64(n))
            case .orderCancel(let r, let n): take(r, Int64(n))
            case .orderDelete(let r): orders[r] = nil
            case .orderReplace(let old, let new, let n, let p):
                let buy = orders[old]!.buy
                orders[old] = nil
                orders[new] = Resting(locate: l, buy: buy, price: p.units, shares: Int64(n))
            case .trade(_, _, let n, let s, let p, _): modelTrades.append((s.text, p.units, Int64(n)))
            case .crossTrade(let n, let s, let p, _, _): if n > 0 { modelTrades.append((s.text, p.units, Int64(n))) }
            default: break
            }
        }
        // 117 messages name orders added before the sample begins: D 94, E 18, X 3, U 2.
        #expect(replay.rejected == [UInt8(ascii: "D"): 94, UInt8(ascii: "E"): 18, UInt8(ascii: "X"): 3, UInt8(ascii: "U"): 2])
        #expect(replay.rejected == modelRejected, "\(replay.rejected) vs \(modelRejected)")
        #expect(trades.count == modelTrades.count && trades.count == 5180)
        #expect(zip(trades, modelTrades).allSatisfy { $0.symbol.text == $1.symbol && $0.price.units == $1.price && $0.shares == $1.shares })
        for (locate, book) in replay.books {
            var bids: [Int64: Int64] = [:], asks: [Int64: Int64] = [:]
            for o in orders.values where o.locate == locate {
                if o.buy { bids[o.price, default: 0] += o.shares } else { asks[o.price, default: 0] += o.shares }
            }
            #expect(book.bids.map { [$0.price, $0.quantity] } == bids.sorted { $0.key > $1.key }.map { [$0.key, $0.value] }, "\(names[locate] ?? "?") bids")
            #expect(book.asks.map { [$0.price, $0.quantity] } == asks.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }, "\(names[locate] ?? "?") asks")
        }
    }
}
