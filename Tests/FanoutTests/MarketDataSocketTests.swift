import Aggregator
import Atomics
import Fanout
import Foundation
import Hummingbird
import HummingbirdWebSocket
import HummingbirdWSClient
@testable import Ingest
import Logging
import NIOCore
import Synchronization
import TestSupport
import Testing

/// `/ws/market-data` over real sockets: Hummingbird's server, the fan-out thread running its lane,
/// and swift-websocket's client. Every wait has a deadline that throws, so a failure fails and
/// never hangs the run.
@Suite(.serialized, .timeLimit(.minutes(5))) struct MarketDataSocketTests {
    static let t0: Int64 = 1_727_173_800_000_000_000  // 2024-09-24T10:30:00Z
    static let logger = {
        var l = Logger(label: "test")
        if ProcessInfo.processInfo.environment["AKIS_TEST_TRACE"] != nil { l.logLevel = .trace }
        return l
    }()

    /// A fan-out served on a loopback port, fed as the pipeline thread feeds it.
    final class LiveFanout: @unchecked Sendable {
        let symbols = try! SymbolTable(["GARAN", "AKBNK", "THYAO"])
        let lane = ConsumerLane(name: "fanout", capacity: 1 << 18, policy: .block)
        let outlet: CandleOutlet
        let stage: AggregationStage
        let hub: FanoutHub
        let port: Int
        private let server: Task<Void, any Error>
        private let laneDone = ManagedAtomic<Bool>(false)

        init(options: FanoutHub.Options = FanoutHub.Options(), slowClientGrace: TimeAmount = .seconds(2),
             commandLimit: CommandRateLimit = .standard, gate: (any MarketDataGate)? = nil, authenticationWindow: Duration = .seconds(5)) async throws {
            outlet = CandleOutlet(lane: lane)
            stage = AggregationStage(symbolCount: symbols.count, outlets: [outlet]) { _ in }
            hub = FanoutHub(symbols: SymbolUniverse(symbols), latest: stage.latest, calendar: SessionCalendar(), lane: lane, candles: outlet,
                            options: options)
            let (lane, hub, done) = (lane, hub, laneDone)
            Thread { lane.run(hub); done.store(true, ordering: .releasing) }.start()
            let router = Router(context: SocketTestContext.self)
            MarketDataSocket(hub: hub, slowClientGrace: slowClientGrace, commandLimit: commandLimit, gate: gate,
                             authenticationWindow: authenticationWindow).register(on: router)
            let bound = ManagedAtomic<Int>(0)
            let app = Application(
                router: router, server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: MarketDataSocket.serverConfiguration)),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { bound.store($0.localAddress?.port ?? -1, ordering: .releasing) }, logger: MarketDataSocketTests.logger)
            server = Task { try await app.runService(gracefulShutdownSignals: []) }
            try await waitUntil("the server to listen") { bound.load(ordering: .acquiring) != 0 }
            port = bound.load(ordering: .acquiring)
            #expect(port > 0)
        }

        var url: String { "ws://127.0.0.1:\(port)\(MarketDataSocket.path)" }

        /// The pipeline thread's part: the lane, then the aggregator.
        func send(_ ticks: [Tick], now: Int64 = 1) {
            ticks.withUnsafeBufferPointer {
                _ = lane.offer($0)
                stage.process($0, now: now)
            }
        }

        /// The pipeline's stop: candles close, the lane closes, the fan-out ends every queue.
        func stop() async throws {
            stage.finish()
            lane.close()
            try await waitUntil("the fan-out thread to end") { laneDone.load(ordering: .acquiring) }
        }

        deinit { server.cancel() }
    }

    static func trade(_ symbol: UInt32, at offset: Int64, price: String, seq: UInt64) -> Tick {
        Tick(symbol: SymbolID(symbol), kind: .trade, price: Price(price)!, quantity: 100, exchangeTime: t0 + offset, sequence: seq)
    }

    /// Messages a client received, as JSON objects, and a way to wait for them.
    final class Received: Sendable {
        private let list = Mutex<[[String: Any]]>([])
        private struct Box: @unchecked Sendable { let object: [String: Any] }
        func append(_ text: String) {
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? ["unparsed": text]
            let box = Box(object: object)
            list.withLock { $0.append(box.object) }
        }
        var all: [[String: Any]] { list.withLock { $0 } }
        var types: [String] { all.map { $0["type"] as? String ?? "?" } }
        func wait(for count: Int) async throws {
            try await waitUntil("\(count) messages; got \(types)") { list.withLock { $0.count } >= count }
        }
    }

    static func data(_ m: [String: Any]) -> [String: Any] { m["data"] as? [String: Any] ?? [:] }

    /// Opens `/ws/market-data` on a plain TCP socket and returns the response's status line and
    /// the first `count` frames the server sends (unmasked, as a server's are), within 30 s.
    /// `rawHandshake` on a thread of its own: its blocking reads never hold a thread of the
    /// cooperative pool, which the server's WebSocket handlers run on.
    static func handshake(port: Int, frames count: Int, headers: String = "") async throws -> (String, [(opcode: UInt8, payload: [UInt8])]) {
        try await offThePool { try rawHandshake(port: port, frames: count, headers: headers) }
    }

    static func rawHandshake(port: Int, frames count: Int, headers: String = "") throws -> (String, [(opcode: UInt8, payload: [UInt8])]) {
        let socket = try Socket.connect(to: FeedAddress(transport: .tcp, host: "127.0.0.1", port: UInt16(port)))
        let request = "GET \(MarketDataSocket.path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(headers)\r\n"
        try Array(request.utf8).withUnsafeBytes { try socket.send($0) }
        var bytes: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            // The response head, then frames of 2-byte or 16-bit lengths (all the server sends here).
            if let headEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                var frames: [(opcode: UInt8, payload: [UInt8])] = []
                var at = headEnd
                while frames.count < count, at + 2 <= bytes.count {
                    var length = Int(bytes[at + 1] & 0x7F), start = at + 2
                    if length == 126 {
                        guard at + 4 <= bytes.count else { break }
                        length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
                        start = at + 4
                    }
                    guard start + length <= bytes.count else { break }
                    frames.append((bytes[at] & 0x0F, Array(bytes[start..<(start + length)])))
                    at = start + length
                }
                if frames.count == count {
                    let status = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")[0]
                    return (status, frames)
                }
            }
            guard ContinuousClock.now < deadline else { throw TestTimeout("\(count) frames; got \(bytes.count) bytes") }
            guard try socket.waitReadable(timeoutMillis: 1_000) else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = try chunk.withUnsafeMutableBytes { try socket.receive(into: $0) }
            guard n > 0 else { throw TestTimeout("\(count) frames before the server closed; got \(bytes.count) bytes") }
            bytes += chunk[..<n]
        }
    }

    /// A WebSocket client running in a task of its own, so that the test waits for it with a deadline.
    static func client(_ url: String, configuration: WebSocketClientConfiguration = .init(),
                       handler: @escaping WebSocketDataHandler<WebSocketClient.Context>) -> Task<WebSocketCloseFrame?, any Error> {
        Task { try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger, handler: handler) }
    }

    /// How the server closed a client's connection, within `limit`.
    static func closed(_ client: Task<WebSocketCloseFrame?, any Error>, _ what: String,
                       within limit: Duration = .seconds(60)) async throws -> WebSocketCloseFrame? {
        try await value(of: client, within: limit, what)
    }

    @Test func aClientSubscribesAndReceivesTicksAndCandlesAndErrorsForBadMessages() async throws {
        let live = try await LiveFanout()
        live.send([Self.trade(0, at: 1_000_000_000, price: "100.5", seq: 1)])
        let received = Received()
        let close = try await Self.closed(Self.client(live.url) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            func next() async throws {
                guard case .text(let text)? = try await messages.next() else { throw TestTimeout("a text message") }
                received.append(text)
            }
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN","NOPE"]}"#))
            try await next()
            try await outbound.write(.text("not json"))
            try await next()
            try await outbound.write(.binary(ByteBuffer(string: "{}")))
            try await next()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#))
            try await next()
            try await next()
            live.send([Self.trade(1, at: 2_000_000_000, price: "20", seq: 2), Self.trade(0, at: 3_000_000_000, price: "101", seq: 3)])
            live.send([Self.trade(0, at: 62_000_000_000, price: "102", seq: 4)])
            try await next()
            try await next()
            try await next()
        }, "the subscriber")
        #expect(close?.closeCode == .normalClosure)
        let all = received.all
        #expect(received.types == ["ERROR", "ERROR", "ERROR", "SUBSCRIBED", "SNAPSHOT", "MARKET_TICK", "MARKET_TICK", "CANDLE"])
        #expect(Self.data(all[0])["message"] as? String == "unknown symbol NOPE: not one of the 3 symbols this daemon ingests")
        #expect((Self.data(all[1])["message"] as? String)?.hasPrefix("malformed JSON") == true)
        #expect(Self.data(all[2])["message"] as? String == "binary messages are not understood: send JSON text")
        let snapshot = try #require((Self.data(all[4])["symbols"] as? [[String: Any]])?.first)
        #expect(snapshot["symbol"] as? String == "GARAN" && "\(snapshot["price"]!)" == "100.5")
        #expect(Self.data(all[5])["seq"] as? Int == 3 && Self.data(all[6])["seq"] as? Int == 4, "AKBNK's tick is not sent")
        #expect(Self.data(all[7])["start"] as? String == "2024-09-24T10:30:00.000Z" && "\(Self.data(all[7])["close"]!)" == "101")
        try await live.stop()
    }

    @Test func aClientFloodingCommandsIsRefusedPastTheLimitAndStaysConnected() async throws {
        // No refill, so that what is refused does not depend on how fast the commands go out.
        let live = try await LiveFanout(commandLimit: CommandRateLimit(perSecond: 0, burst: 10))
        let received = Received()
        let close = try await Self.closed(Self.client(live.url) { inbound, outbound, _ in
            for _ in 0..<30 { try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#)) }
            var replies = 0
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                received.append(text)
                if !text.hasPrefix(#"{"type":"SNAPSHOT""#) { replies += 1 }
                if replies == 30 { break }
            }
        }, "30 replies")
        #expect(close?.closeCode == .normalClosure)
        let types = received.types
        #expect(types.filter { $0 == "SUBSCRIBED" }.count == 10 && types.filter { $0 == "ERROR" }.count == 20, "\(types)")
        let refusal = try #require(received.all.first { $0["type"] as? String == "ERROR" })
        #expect(Self.data(refusal)["message"] as? String == "too many messages: at most 10 at once and 0 a second; this one was ignored")
        try await live.stop()
    }

    @Test func anOversizedMessageClosesTheConnectionWith1009() async throws {
        let live = try await LiveFanout()
        let close = try await Self.closed(Self.client(live.url, configuration: .init(maxFrameSize: 1 << 20)) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":[""# + String(repeating: "A", count: 100_000) + #""]}"#))
            for try await _ in inbound {}
        }, "the close")
        #expect(close?.closeCode == .messageTooLarge)
        try await live.stop()
    }

    @Test func aClientBeyondTheLimitIsToldToTryAgainLater() async throws {
        var options = FanoutHub.Options()
        options.maximumClients = 1
        let live = try await LiveFanout(options: options)
        let first = Received()
        let holding = Self.client(live.url) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["THYAO"]}"#))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { first.append(text) }
            }
        }
        try await first.wait(for: 2)
        // The refusal follows the 101 response at once, often in the same packet, which
        // swift-websocket's client sometimes loses (it then waits for ever): read it off a plain socket.
        let (status, frames) = try await Self.handshake(port: live.port, frames: 2)
        #expect(status.hasPrefix("HTTP/1.1 101"), "\(status)")
        #expect(frames.map(\.opcode) == [0x1, 0x8], "an ERROR text, then a close")
        let error = String(decoding: frames.first?.payload ?? [], as: UTF8.self)
        #expect(error.hasPrefix(#"{"type":"ERROR""#) && error.contains("too many clients: at most 1 (fanout.max_clients); try again later"), "\(error)")
        let close = frames.last?.payload ?? []
        #expect(close.count > 2 && Int(close[0]) << 8 | Int(close[1]) == 1013, "try again later")
        #expect(String(decoding: close.dropFirst(2), as: UTF8.self) == "too many clients: at most 1 (fanout.max_clients); try again later")
        #expect(live.hub.clientsRefused.load(ordering: .relaxed) == 1)
        // Stopping closes the held connection with "going away".
        try await live.stop()
        let held = try await Self.closed(holding, "the held connection's close at stop")
        #expect(held?.closeCode == .goingAway && held?.reason == "the daemon is stopping")
    }

    @Test func aClientThatStopsReadingIsDisconnectedAsSlowWhileAReadingOneKeepsUp() async throws {
        var options = FanoutHub.Options()
        options.clientQueueCapacity = 2048
        // The stalled client reads its close only once the push is over, which can take seconds
        // on a busy machine: a long grace keeps its TCP connection until then (the grace itself
        // has its own test).
        let live = try await LiveFanout(options: options, slowClientGrace: .seconds(120))
        let subscribed = ManagedAtomic<Int>(0)
        let pushed = ManagedAtomic<Bool>(false)
        let stalledEnd = Received()
        let readerTicks = Mutex<[Int]>([])
        let stalled = Self.client(live.url) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["AKBNK"]}"#))
            _ = try await messages.next()
            _ = try await messages.next()
            subscribed.wrappingIncrement(ordering: .releasing)
            // Not reading while the ticks go out: the socket buffers fill, then its queue.
            while !pushed.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
            while let message = try await messages.next() {
                if case .text(let text) = message, !text.hasPrefix("{\"type\":\"MARKET_TICK\"") { stalledEnd.append(text) }
            }
        }
        let reader = Self.client(live.url) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["AKBNK"]}"#))
            var opening = 0
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                opening += 1
                if opening == 2 { subscribed.wrappingIncrement(ordering: .releasing) }
                if let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
                   object["type"] as? String == "MARKET_TICK", let seq = Self.data(object)["seq"] as? Int {
                    readerTicks.withLock { $0.append(seq) }
                }
            }
        }
        try await waitUntil("both clients to subscribe") { subscribed.load(ordering: .acquiring) == 2 }
        // Paced to the reader: never more than 1,000 ticks ahead of what it has read, so its queue
        // (2,048) cannot fill however slow this machine is, and only the stalled client can be cut.
        // A debug build on 2 busy cores reads only a few thousand messages a second.
        var sent = 0
        let deadline = ContinuousClock.now + .seconds(180)
        while live.hub.slowClients.load(ordering: .relaxed) == 0 {
            guard ContinuousClock.now < deadline else {
                throw TestTimeout("the stalled client to be cut: \(sent) ticks sent, \(readerTicks.withLock { $0.count }) read")
            }
            if sent - readerTicks.withLock({ $0.count }) >= 1_000 {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            let batch = sent / 100
            live.send((0..<100).map { Self.trade(1, at: Int64(batch) * 1_000_000, price: "20", seq: UInt64(sent + $0 + 1)) })
            sent += 100
        }
        pushed.store(true, ordering: .releasing)
        let close = try await Self.closed(stalled, "the stalled client's close")
        #expect(live.hub.slowClients.load(ordering: .relaxed) == 1)
        #expect(close?.closeCode == .policyViolation && close?.reason == "slow consumer: more than 2048 messages queued")
        #expect(stalledEnd.types == ["ERROR"], "the last message says why")
        // The reading client was not cut off: it has every tick, in order, when the daemon stops.
        try await live.stop()
        let readerClose = try await Self.closed(reader, "the reader's close at stop")
        #expect(readerClose?.closeCode == .goingAway)
        #expect(readerTicks.withLock { $0 } == Array(1...sent), "\(sent) ticks sent")
    }

    @Test func aClientThatNeverReadsAgainIsCutOffAfterTheGrace() async throws {
        var options = FanoutHub.Options()
        options.clientQueueCapacity = 64
        let live = try await LiveFanout(options: options, slowClientGrace: .milliseconds(200))
        let subscribed = ManagedAtomic<Bool>(false)
        let stalled = Self.client(live.url) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#))
            _ = try await messages.next()
            _ = try await messages.next()
            subscribed.store(true, ordering: .releasing)
            try await Task.sleep(for: .seconds(60))
        }
        try await waitUntil("the client to subscribe") { subscribed.load(ordering: .acquiring) }
        #expect(live.hub.clientsConnected.load(ordering: .relaxed) == 1)
        // Unpaced: the client's socket buffers fill, then its queue of 64.
        var batch = 0
        while live.hub.slowClients.load(ordering: .relaxed) == 0 && batch < 2_000 {
            live.send((0..<1_000).map { Self.trade(0, at: Int64(batch), price: "100", seq: UInt64(batch * 1_000 + $0 + 1)) })
            batch += 1
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(live.hub.slowClients.load(ordering: .relaxed) == 1, "\(batch) batches sent")
        // Its writer waits on a full socket; the grace ends that, and the connection's slot is free.
        let deadline = ContinuousClock.now + .seconds(10)
        while live.hub.clientsConnected.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(live.hub.clientsConnected.load(ordering: .relaxed) == 0, "the stalled connection was cut")
        stalled.cancel()
        _ = try? await Self.closed(stalled, "the cancelled client", within: .seconds(30))
        try await live.stop()
    }
}

/// A request context that carries `/ws/market-data`, as the daemon's does.
struct SocketTestContext: ConnectionRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
