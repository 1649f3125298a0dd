import Aggregator
import Fanout
import Foundation
import Ingest
import NIOCore
import Testing

/// The hub without sockets: ticks go through a lane and an aggregation stage as on the pipeline
/// thread, and the hub is driven as the fan-out thread drives it.
@Suite(.timeLimit(.minutes(2))) struct FanoutHubTests {
    static let t0: Int64 = 1_727_173_800_000_000_000  // 2024-09-24T10:30:00Z, a Tuesday, continuous session
    static let second: Int64 = 1_000_000_000
    let garan = SymbolID(0), akbnk = SymbolID(1)

    final class Harness {
        let symbols = try! SymbolTable(["GARAN", "AKBNK", "THYAO"])
        let universe: SymbolUniverse
        let lane = ConsumerLane(name: "fanout", capacity: 1 << 16, policy: .block)
        let outlet: CandleOutlet
        let stage: AggregationStage
        let hub: FanoutHub

        let depth = DepthBoard(symbolCount: 3)

        init(options: FanoutHub.Options = FanoutHub.Options()) {
            outlet = CandleOutlet(lane: lane)
            stage = AggregationStage(symbolCount: symbols.count, outlets: [outlet]) { _ in }
            universe = SymbolUniverse(symbols)
            hub = FanoutHub(symbols: universe, latest: stage.latest, calendar: SessionCalendar(), lane: lane, candles: outlet,
                            depth: depth, options: options)
        }

        /// The pipeline's part (lane, then aggregator), then the fan-out thread's.
        func send(_ ticks: [Tick], now: Int64 = 1) {
            ticks.withUnsafeBufferPointer {
                _ = lane.offer($0)
                stage.process($0, now: now)
            }
            _ = lane.ring.drain(maximum: .max) { hub.consume($0) }
            hub.idle(now: now)
        }
    }

    func trade(_ symbol: SymbolID, at offset: Int64, price: String, quantity: Int64 = 100, seq: UInt64) -> Tick {
        Tick(symbol: symbol, kind: .trade, price: Price(price)!, quantity: quantity, exchangeTime: Self.t0 + offset, sequence: seq)
    }

    /// A client's queue read one message at a time, as its writer takes it in batches; nil when
    /// nothing is queued.
    struct Queue {
        let client: FanoutClient
        var pending: [ByteBuffer] = []
        init(_ client: FanoutClient) { self.client = client }
        mutating func next() async -> ByteBuffer? {
            if pending.isEmpty, let batch = client.take().messages { pending = batch }
            return pending.isEmpty ? nil : pending.removeFirst()
        }
    }

    /// The next `n` queued messages as JSON objects (they are queued already: this does not wait).
    func take(_ n: Int, _ it: inout Queue) async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for _ in 0..<n {
            let buffer = try #require(await it.next())
            out.append(try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]))
        }
        return out
    }

    func data(_ m: [String: Any]) -> [String: Any] { m["data"] as? [String: Any] ?? [:] }

    @Test func depthGoesToTheClientsThatAskedForItWhenItChanges() async throws {
        let h = Harness()
        func level(_ p: String, _ q: Int64) -> DepthSnapshot.Level { .init(price: Price(p)!, quantity: q, orders: 1) }
        h.depth.publish(DepthSnapshot(symbol: garan, time: Self.t0, bids: [level("121.3", 300), level("121.2", 50)], asks: [level("121.5", 10)]))
        let deep = try #require(h.hub.connect()), plain = try #require(h.hub.connect())
        var d = Queue(deep), p = Queue(plain)
        h.hub.submit(.subscribe([garan, akbnk], depth: true), from: deep)
        h.hub.submit(.subscribe([garan]), from: plain)
        h.hub.idle(now: 2)
        let opening = try await take(3, &d)
        #expect(opening.map { $0["type"] as? String } == ["SUBSCRIBED", "SNAPSHOT", "DEPTH"], "the current depth of GARAN (none yet for AKBNK)")
        let first = data(opening[2])
        #expect(first["symbol"] as? String == "GARAN" && first["timestamp"] as? String == "2024-09-24T10:30:00.000Z")
        let bids = try #require(first["bids"] as? [[String: Any]])
        #expect(bids.map { "\($0["price"]!)" } == ["121.3", "121.2"] && bids.map { $0["quantity"] as? Int } == [300, 50] && bids.first?["orders"] as? Int == 1)
        #expect((first["asks"] as? [[String: Any]])?.count == 1)
        #expect(try await take(2, &p).map { $0["type"] as? String } == ["SUBSCRIBED", "SNAPSHOT"])
        // A change goes to the depth subscriber only, once; a symbol nobody asked depth of goes nowhere.
        h.depth.publish(DepthSnapshot(symbol: garan, time: Self.t0 + 5, bids: [level("121.3", 200)], asks: []))
        h.depth.publish(DepthSnapshot(symbol: SymbolID(2), time: Self.t0 + 6, bids: [level("300", 1)], asks: []))
        h.hub.idle(now: 3)
        h.hub.idle(now: 4)
        let change = try await take(1, &d)
        #expect(change[0]["type"] as? String == "DEPTH" && (data(change[0])["bids"] as? [[String: Any]])?.first?["quantity"] as? Int == 200)
        let dNext = await d.next(), pNext = await p.next()
        #expect(dNext == nil && pNext == nil)
        // UNSUBSCRIBE ends depth too.
        h.hub.submit(.unsubscribe([garan]), from: deep)
        h.hub.idle(now: 5)
        _ = try await take(1, &d)
        h.depth.publish(DepthSnapshot(symbol: garan, time: Self.t0 + 7, bids: [level("121.4", 1)], asks: []))
        h.hub.idle(now: 6)
        let after = await d.next()
        #expect(after == nil)
    }

    @Test func aSubscriberGetsItsReplyTheSnapshotThenItsSymbolsTicksAndCandles() async throws {
        let h = Harness()
        h.send([trade(garan, at: Self.second, price: "100.5", seq: 1), trade(akbnk, at: Self.second, price: "20", seq: 2)])
        let client = try #require(h.hub.connect())
        var it = Queue(client)
        h.hub.submit(.subscribe([garan]), from: client)
        h.hub.idle(now: 2)
        let opening = try await take(2, &it)
        #expect(opening[0]["type"] as? String == "SUBSCRIBED" && data(opening[0])["subscriptions"] as? [String] == ["GARAN"])
        #expect(opening[1]["type"] as? String == "SNAPSHOT")
        let state = try #require((data(opening[1])["symbols"] as? [[String: Any]])?.first)
        #expect(state["symbol"] as? String == "GARAN" && "\(state["price"]!)" == "100.5" && state["volume"] as? Int == 100)
        #expect(data(opening[1])["sessionPhase"] as? String == "continuous")

        // Only GARAN's ticks; the candle of 10:30 after the ticks that close it.
        h.send([trade(akbnk, at: 2 * Self.second, price: "21", seq: 3), trade(garan, at: 3 * Self.second, price: "101", quantity: 50, seq: 4)])
        h.send([trade(garan, at: 61 * Self.second + 500_000_000, price: "102", seq: 5)])
        h.send([trade(garan, at: 63 * Self.second, price: "102.25", seq: 6)])
        let live = try await take(4, &it)
        #expect(live.map { $0["type"] as? String } == ["MARKET_TICK", "MARKET_TICK", "MARKET_TICK", "CANDLE"])
        #expect(live[0...2].map { data($0)["seq"] as? Int } == [4, 5, 6])
        let candle = data(live[3])
        #expect(candle["symbol"] as? String == "GARAN" && candle["start"] as? String == "2024-09-24T10:30:00.000Z")
        #expect("\(candle["open"]!)" == "100.5" && "\(candle["high"]!)" == "101" && "\(candle["close"]!)" == "101")
        #expect(candle["volume"] as? Int == 150 && candle["tradeCount"] as? Int == 2 && candle["corrected"] as? Bool == false)

        // A late trade within the allowed lateness corrects the candle, and the correction is streamed.
        h.send([trade(garan, at: 30 * Self.second, price: "99", seq: 7)])
        let late = try await take(2, &it)
        #expect(late[0]["type"] as? String == "MARKET_TICK")
        #expect(late[1]["type"] as? String == "CANDLE" && data(late[1])["corrected"] as? Bool == true && "\(data(late[1])["low"]!)" == "99")

        h.hub.submit(.unsubscribe([garan]), from: client)
        h.send([trade(garan, at: 64 * Self.second, price: "103", seq: 8)])
        let bye = try await take(1, &it)
        #expect(bye[0]["type"] as? String == "UNSUBSCRIBED" && (data(bye[0])["subscriptions"] as? [String])?.isEmpty == true)
        h.hub.disconnect(client)
        #expect(await it.next() == nil, "nothing after unsubscribing")
        guard case .ended = client.take() else { Issue.record("the queue ends at disconnect"); return }
        #expect(h.hub.clientsConnected.load(ordering: .relaxed) == 0)
    }

    /// A symbol that joins the universe while the hub runs (an exchange announced it) can be
    /// subscribed to at once, and its ticks, candles and depth are routed by name.
    @Test func aSymbolThatJoinsWhileTheHubRunsIsSubscribedAndRouted() async throws {
        let h = Harness()
        h.send([trade(garan, at: Self.second, price: "100.5", seq: 1)])
        let subscribe = #"{"type":"SUBSCRIBE","symbols":["ENKAI","GARAN"],"depth":true}"#
        #expect(throws: ClientCommandError("unknown symbol ENKAI: not one of the 3 symbols this daemon ingests")) {
            try ClientCommand.parse(subscribe, symbols: h.universe)
        }
        let enkai = try h.universe.join("ENKAI").id
        #expect(enkai == SymbolID(3))
        let client = try #require(h.hub.connect())
        var it = Queue(client)
        // Unsubscribing from a symbol the hub has not met yet is answered like any other.
        h.hub.submit(try ClientCommand.parse(#"{"type":"UNSUBSCRIBE","symbols":["ENKAI"]}"#, symbols: h.universe), from: client)
        h.hub.idle(now: 2)
        #expect(try await take(1, &it).first?["type"] as? String == "UNSUBSCRIBED")
        h.hub.submit(try ClientCommand.parse(subscribe, symbols: h.universe), from: client)
        h.hub.idle(now: 2)
        let opening = try await take(2, &it)
        #expect(opening[0]["type"] as? String == "SUBSCRIBED" && data(opening[0])["subscriptions"] as? [String] == ["GARAN", "ENKAI"])
        let states = try #require(data(opening[1])["symbols"] as? [[String: Any]])
        #expect(states.map { $0["symbol"] as? String } == ["ENKAI", "GARAN"] && states[0]["volume"] as? Int == 0, "ENKAI has no trade yet: \(states)")

        h.send([trade(enkai, at: 2 * Self.second, price: "55.25", quantity: 7, seq: 2), trade(akbnk, at: 2 * Self.second, price: "20", seq: 3)])
        h.send([trade(enkai, at: 61 * Self.second + 500_000_000, price: "56", seq: 4)])
        h.send([trade(enkai, at: 63 * Self.second, price: "56", seq: 5)])
        let live = try await take(4, &it)
        #expect(live.map { $0["type"] as? String } == ["MARKET_TICK", "MARKET_TICK", "MARKET_TICK", "CANDLE"])
        #expect(live[0...2].map { data($0)["symbol"] as? String } == ["ENKAI", "ENKAI", "ENKAI"] && "\(data(live[0])["price"]!)" == "55.25")
        #expect(data(live[3])["symbol"] as? String == "ENKAI" && data(live[3])["volume"] as? Int == 7)
        h.depth.publish(DepthSnapshot(symbol: enkai, time: Self.t0 + 5, bids: [.init(price: Price("55.5")!, quantity: 3, orders: 1)], asks: []))
        h.hub.idle(now: 3)
        // GARAN's candle of 10:30 (closed by the market's time) and ENKAI's depth.
        let rest = try await take(2, &it)
        #expect(rest.map { "\($0["type"]!) \(data($0)["symbol"]!)" } == ["CANDLE GARAN", "DEPTH ENKAI"], "\(rest)")
        h.stage.idle(now: 10 * Self.second)
        #expect(h.stage.latest.snapshot([enkai]).symbols.first?.lastPrice == Price("56"))
    }

    /// A tick that reaches the fan-out between two publications of the latest state is in the
    /// subscriber's snapshot or in its stream, never in neither and never in both.
    @Test func theSnapshotAndTheStreamMeetWithoutASeam() async throws {
        let h = Harness()
        h.send([trade(garan, at: Self.second, price: "100", seq: 1)], now: 1)  // published with tick 1
        h.send([trade(garan, at: 2 * Self.second, price: "101", seq: 2)], now: 2)  // routed, not yet published
        let client = try #require(h.hub.connect())
        h.hub.submit(.subscribe([garan]), from: client)
        h.hub.idle(now: 3)
        #expect(h.hub.messagesQueued.load(ordering: .relaxed) == 1, "SUBSCRIBED; the snapshot waits for a state with tick 2")
        h.send([trade(garan, at: 3 * Self.second, price: "102", seq: 3)], now: 4)  // held for the client
        #expect(h.hub.messagesQueued.load(ordering: .relaxed) == 1)
        h.stage.idle(now: 100_000_000)  // the next publication: ticks 1-3
        h.hub.idle(now: 100_000_000)
        h.send([trade(garan, at: 4 * Self.second, price: "103", seq: 4)], now: 100_000_001)
        var it = Queue(client)
        let got = try await take(3, &it)
        #expect(got.map { $0["type"] as? String } == ["SUBSCRIBED", "SNAPSHOT", "MARKET_TICK"])
        let state = try #require((data(got[1])["symbols"] as? [[String: Any]])?.first)
        #expect("\(state["price"]!)" == "102" && state["volume"] as? Int == 300 && state["tradeCount"] as? Int == 3)
        #expect(data(got[2])["seq"] as? Int == 4, "tick 3 is in the snapshot and is not sent again")
        #expect(h.hub.messagesQueued.load(ordering: .relaxed) == 3)
    }

    @Test func aSlowClientIsCutOffWithoutHoldingUpTheOthers() async throws {
        var options = FanoutHub.Options()
        options.clientQueueCapacity = 16
        let h = Harness(options: options)
        let slow = try #require(h.hub.connect())
        let other = try #require(h.hub.connect())
        h.hub.submit(.subscribe([garan]), from: slow)
        h.hub.submit(.subscribe([akbnk]), from: other)
        h.hub.idle(now: 1)
        h.send((0..<40).map { trade(garan, at: Int64($0) * 1_000_000, price: "100", seq: UInt64($0 + 1)) })
        #expect(slow.isSlow && h.hub.slowClients.load(ordering: .relaxed) == 1)
        guard case .ended = slow.take() else { Issue.record("its backlog is dropped and its queue ended"); return }
        // The other client still gets its symbol.
        h.send([trade(akbnk, at: Self.second, price: "20", seq: 100)])
        var o = Queue(other)
        let got = try await take(3, &o)
        #expect(got.map { $0["type"] as? String } == ["SUBSCRIBED", "SNAPSHOT", "MARKET_TICK"])
    }

    @Test func clientsBeyondTheLimitAreRefusedAndStoppingEndsEveryQueue() async throws {
        var options = FanoutHub.Options()
        options.maximumClients = 2
        let h = Harness(options: options)
        let a = try #require(h.hub.connect())
        let b = try #require(h.hub.connect())
        #expect(h.hub.connect() == nil && h.hub.clientsRefused.load(ordering: .relaxed) == 1)
        h.hub.disconnect(b)
        let c = try #require(h.hub.connect())
        h.hub.submit(.subscribe([garan]), from: a)
        h.hub.submit(.subscribe([garan]), from: c)
        h.hub.idle(now: 1)
        h.send([trade(garan, at: Self.second, price: "100", seq: 1)])
        h.stage.finish()  // the pipeline's stop: open candles close, then the lanes end
        h.hub.finish()
        #expect(h.hub.isStopping && h.hub.connect() == nil)
        for client in [a, c] {
            var it = Queue(client)
            var types: [String] = []
            while let m = await it.next() {
                let object = try JSONSerialization.jsonObject(with: Data(m.readableBytesView)) as? [String: Any]
                types.append(object?["type"] as? String ?? "?")
            }
            #expect(types == ["SUBSCRIBED", "SNAPSHOT", "MARKET_TICK", "CANDLE"], "the open candle goes out at the stop")
            guard case .ended = client.take() else { Issue.record("then the queue ends"); continue }
        }
    }
}
