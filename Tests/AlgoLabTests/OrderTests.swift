import AlgoLab
import Foundation
import Ingest
import Testing
import TestSupport

/// Orders through AlgoLab's REST API against the fake, with execution updates from the feed.
@Suite(.timeLimit(.minutes(2))) struct OrderTests {
    @Test func placeModifyCancelAndFillWithUpdatesFromTheFeed() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let session = try await LiveSession(fake)
        let broker = AlgoLabBroker(keeper: session.keeper)
        let updates = AlgoLabOrderUpdates()
        let endpoint = FeedEndpoint(name: "algolab", id: 1, address: FeedAddress(transport: .tcp, host: "algolab", port: 0), role: .connect, format: .algolab)
        let feed = AlgoLabFeed(feed: endpoint, symbols: try SymbolTable(BISTMarket.bist30), ringCapacity: 1024, doorbell: Doorbell(), checkpoint: nil,
                               keeper: session.keeper, orderUpdates: updates, options: .init(webSocketURL: fake.webSocketURL),
                               announce: { _ in }, log: { _ in })
        var stream = updates.subscribe().makeAsyncIterator()
        let running = Task { try await feed.run() }
        try await eventually("the feed subscribes", within: .seconds(30)) { try await fake.log()["subscribed"] as? Int == 1 }

        var order = AlgoLabOrderRequest(symbol: "GARAN", side: .buy, pricing: .limit(Price("121.3")!), shares: 5)
        let placed = try await broker.place(order)
        #expect(placed.reference.count == 6 && placed.message.hasPrefix("Referans Numaranız: \(placed.reference);"))
        let calls = try await fake.log()["calls"] as? [[String: Any]] ?? []
        #expect(calls.last?["body"] as? String
                == #"{"symbol":"GARAN","direction":"BUY","pricetype":"limit","price":"121.3","lot":"5","sms":false,"email":false,"subAccount":""}"#)
        #expect(calls.last?["headers"] as? [String] == ["APIKEY", "Authorization", "Checker"])
        let accepted = await stream.next()
        #expect(accepted?.reference == placed.reference && accepted?.lots == 5 && accepted?.executedLots == 0 && accepted?.symbol == "GARAN")

        let modified = try await broker.modify(reference: placed.reference, price: Price("121.25")!)
        #expect(modified == "Emriniz düzeltildi")
        #expect((await stream.next())?.price == Price("121.25"))

        try await fake.control("fill", ["id": placed.reference, "lots": 2, "price": "121.25"])
        let partial = await stream.next()
        #expect(partial?.executedLots == 2 && partial?.isFilled == false && partial?.executedPrice == Price("121.25"))
        try await fake.control("fill", ["id": placed.reference, "lots": 3, "price": "121.25"])
        let filled = await stream.next()
        #expect(filled?.isFilled == true && filled?.status == .filled)
        // A filled order cannot be cancelled: AlgoLab's words come back as they are.
        await #expect(throws: AlgoLabError.refused("Emir bulunamadı veya iptal edilemez")) { try await broker.cancel(reference: placed.reference) }

        order.side = .sell
        order.pricing = .market
        order.shares = 1
        let second = try await broker.place(order)
        _ = await stream.next()
        #expect(try await broker.cancel(reference: second.reference) == "Emriniz iptal edildi")
        #expect((await stream.next())?.rawStatus == 3)

        // Reconciliation, as after a restart: a new client on the same session sees both orders and the holding.
        let again = AlgoLabBroker(keeper: session.keeper)
        let (orders, positions) = try await again.reconcile()
        #expect(orders.count == 2)
        let first = try #require(orders.first { $0.reference == placed.reference })
        #expect(first.symbol == "GARAN" && first.shares == 5 && first.filledShares == 5 && first.remainingShares == 0 && first.price == Price("121.25"))
        #expect(first.side == "Alış" && first.state == "Gerçekleşti")
        #expect(orders.first { $0.reference == second.reference }?.state == "İptal")
        #expect(positions.map(\.symbol) == ["GARAN"] && positions.first?.shares == 5)
        let info = try await broker.equityInfo("GARAN")
        #expect(info.floor == Price("1.80") && info.ceiling == Price("2.20") && info.last == Price("2.01"))
        #expect(try await fake.rejected() == ["DeleteOrder refused"])

        running.cancel()
        _ = try? await value(of: running, within: .seconds(20), "the feed stops")
        await session.close()
    }

    @Test func rateLimitsServerErrorsAndExpiryAreTypedAndBadOrdersNeverLeave() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let session = try await LiveSession(fake)
        let broker = AlgoLabBroker(keeper: session.keeper)
        let order = AlgoLabOrderRequest(symbol: "GARAN", side: .buy, pricing: .limit(Price("121.3")!), shares: 5)
        try await fake.control("fail", ["endpoint": "SendOrder", "status": 429])
        await #expect(throws: AlgoLabError.rateLimited) { try await broker.place(order) }
        try await fake.control("fail", ["endpoint": "SendOrder", "status": 502])
        await #expect(throws: AlgoLabError.server(status: 502, message: "fake failure 502")) { try await broker.place(order) }
        var bad = order
        bad.shares = 0
        await #expect(throws: AlgoLabError.self) { try await broker.place(bad) }
        bad = order
        bad.pricing = .limit(.zero)
        await #expect(throws: AlgoLabError.self) { try await broker.place(bad) }
        #expect(try await fake.calls().filter { $0 == "SendOrder" }.count == 2)
        // Refused as expired: the session is marked gone, and later calls do not go out.
        try await fake.control("expire")
        await #expect(throws: AlgoLabError.sessionExpired("Oturum süresi doldu")) { try await broker.todaysOrders() }
        #expect(session.keeper.authorization == nil)
        await #expect(throws: AlgoLabError.noSession) { try await broker.positions() }
        await session.close()
    }
}
