import AlgoLab
import Foundation
import Ingest
import Synchronization
import Testing
import TestSupport

/// The WebSocket feed against the fake AlgoLab streaming `Samples/algolab-sample.jsonl`.
@Suite(.timeLimit(.minutes(2))) struct FeedTests {
    static let symbols = try! SymbolTable(BISTMarket.bist30)

    final class Notices: Sendable {
        let list = Mutex<[FeedNotice]>([])
    }

    @Test func ticksArriveExactlyAsSentAndAReconnectResubscribesAndIsToldAsAGap() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0", "--recording", AlgoLabSample.path])
        let session = try await LiveSession(fake)
        let keeper = session.keeper
        #expect(keeper.problem == nil)

        var endpoint = FeedEndpoint(name: "algolab", id: 9, address: FeedAddress(transport: .tcp, host: "algolab", port: 0), role: .connect, format: .algolab)
        endpoint.reconnectInitialNanos = 50_000_000
        var options = AlgoLabFeed.Options(webSocketURL: fake.webSocketURL)
        options.heartbeatInterval = .milliseconds(100)
        let notices = Notices()
        let updates = AlgoLabOrderUpdates()
        let feed = AlgoLabFeed(feed: endpoint, symbols: Self.symbols, ringCapacity: 1024, doorbell: Doorbell(), checkpoint: 1000,
                               keeper: keeper, orderUpdates: updates, options: options,
                               announce: { n in notices.list.withLock { $0.append(n) } }, log: { _ in })
        let orders = updates.subscribe()
        let running = Task { try await feed.run() }

        var ticks: [Tick] = []
        func drain() { _ = feed.ring.drain { ticks.append(contentsOf: $0) } }
        try await waitForSubscribed(fake, 1)
        let subscriptions = try await fake.log()["subscriptions"] as? [[String: Any]] ?? []
        #expect(subscriptions.map { $0["Type"] as? String } == ["T", "D"])
        #expect((subscriptions.first?["Symbols"] as? [String])?.count == 30)

        let lines = try AlgoLabSample.lines()
        let half = 120
        #expect(try await fake.control("stream", ["count": half])["sent"] as? Int == half)
        let firstTrades = AlgoLabSample.trades(lines[0..<half])
        try await waitUntil("the first half's trades", within: .seconds(30), every: .milliseconds(10)) {
            drain()
            return ticks.filter { $0.kind == .trade }.count >= firstTrades.count
        }
        // The connection drops: the feed connects again, subscribes again, and says ticks may be missing.
        try await fake.control("drop")
        try await waitForSubscribed(fake, 2)
        #expect((try await fake.log()["subscriptions"] as? [[String: Any]])?.count == 4)
        try await fake.control("stream", ["count": lines.count - half])
        let allTrades = AlgoLabSample.trades(lines[...])
        try await waitUntil("every trade", within: .seconds(30), every: .milliseconds(10)) {
            drain()
            return ticks.filter { $0.kind == .trade }.count >= allTrades.count
        }
        try await Task.sleep(for: .milliseconds(300))
        drain()

        let trades = ticks.filter { $0.kind == .trade }
        #expect(trades.count == allTrades.count)
        for (tick, sent) in zip(trades, allTrades) {
            #expect(Self.symbols.name(of: tick.symbol) == sent.symbol)
            #expect(tick.price == Price(sent.price), "\(sent)")
            #expect(tick.quantity == Int64(Double(sent.quantity)!))
            var date = sent.date
            #expect(tick.exchangeTime == date.withUTF8 { UTCTime.parseISO8601(UnsafeRawBufferPointer($0)) })
            #expect(tick.feed == 9)
        }
        // Per-feed sequence numbers continue after the stored checkpoint, without a hole.
        #expect(ticks.map(\.sequence) == Array(1001...UInt64(1000 + ticks.count)))
        #expect(ticks.contains { $0.kind == .quote && $0.bid.units > 0 && $0.ask.units > 0 })
        let c = feed.counters[0]
        #expect(c.connections.load(ordering: .relaxed) == 2 && c.disconnects.load(ordering: .relaxed) == 1)
        #expect(c.possibleGaps.load(ordering: .relaxed) == 1)
        // The malformed line is rejected; the line for a symbol not subscribed is never sent.
        #expect(c[.badField] == 1 && c.rejected.load(ordering: .relaxed) == 1, "\(c.rejectedByKind())")
        #expect(feed.unknownMessages.load(ordering: .relaxed) == 1 && feed.deeperDepthRows.load(ordering: .relaxed) > 0)
        let told = notices.list.withLock { $0 }
        #expect(told.count == 1 && told.first?.feed == "algolab")
        if let n = told.first { #expect(n.disconnectedAt <= n.reconnectedAt) }
        #expect((try await fake.log()["heartbeats"] as? Int ?? 0) > 0)
        #expect(try await fake.rejected().isEmpty)

        // O messages go to the order updates: the recorded one, then one sent now.
        var iterator = orders.makeAsyncIterator()
        let recorded = await iterator.next()
        #expect(recorded?.reference == "FO7XEA" && recorded?.symbol == "GARAN" && recorded?.rawDirection == 1 && recorded?.isFilled == true)
        try await fake.control("send", ["message": #"{"Type":"O","Content":{"Id":"x1","Date":"2024-09-25T15:30:25.61","Direction":0,"Symbol":"GARAN","Lot":5.0,"PriceType":0,"Price":121.3,"Comment":"Referans Numaranız: ABC123;x","Status":2,"Channel":"c","ExecutedLot":5.0,"ExecutedPrice":121.3}}"#])
        let update = await iterator.next()
        #expect(update?.reference == "ABC123" && update?.isFilled == true && update?.executedPrice == Price("121.3"))

        running.cancel()
        _ = try? await value(of: running, within: .seconds(20), "the feed stops")
        let finished = feed.finished.load(ordering: .acquiring)
        #expect(finished)
        await session.close()
    }

    func waitForSubscribed(_ fake: TestAlgoLab, _ connections: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let log = try await fake.log()
            if log["subscribed"] as? Int == 1, log["ws_connections"] as? Int == connections, (log["subscriptions"] as? [Any])?.count == connections * 2 { return }
            guard ContinuousClock.now < deadline else { throw TestTimeout("the feed's connection \(connections) subscribed: \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
