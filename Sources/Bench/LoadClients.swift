import Atomics
import Ingest
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// How subscribers reach the stream: the daemon's `/ws/market-data`, or a Redis server's pub/sub
/// (one channel per symbol) carrying the same messages, for the baseline.
public enum SubscriberProtocol: String, Sendable, Codable {
    case webSocket, redis
}

/// Many subscribers in this one process: each a NIO channel with a small handler, all on a few
/// event-loop threads, so that the load generator costs little and a stall in it is not mistaken
/// for the server's.
public final class LoadClients: Sendable {
    public struct Outcome: Sendable {
        public var subscription: [SymbolID]
        public var tally: ClientTally
        /// The server's close code and reason, if it closed the connection.
        public var closeCode: UInt16?
        public var closeReason: String?
        /// The connection ended without a close from the server, or failed.
        public var failure: String?
    }

    private let group: MultiThreadedEventLoopGroup
    private let clients: [Subscriber]
    private let channels: [Channel]

    /// Total ticks received by every client so far (for progress lines).
    public var ticksReceived: UInt64 { clients.reduce(0) { $0 + $1.received.load(ordering: .relaxed) } }

    /// Connects one client per subscription of `mix`, subscribes each, and returns once the server
    /// has confirmed every subscription. Throws, closing what was opened, if any connection or
    /// subscription fails within `timeoutSeconds`.
    public init(host: String, port: Int, protocol kind: SubscriberProtocol, mix: SubscriptionMix, feed: BenchFeed, clock: BenchClock,
                threads: Int, timeoutSeconds: Int64 = 30) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var clients: [Subscriber] = []
        var channels: [Channel] = []
        do {
            for (n, symbols) in mix.clients.enumerated() {
                let loop = group.next()
                let subscriber = Subscriber(subscription: symbols, feed: feed, clock: clock, loop: loop)
                let channel: Channel
                switch kind {
                case .webSocket:
                    let upgraded = loop.makePromise(of: Bool.self)
                    channel = try ClientBootstrap(group: loop)
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: 1 << 24) { channel, _ in
                                    channel.eventLoop.makeCompletedFuture {
                                        // First in the pipeline: the frames are read where they lie, ahead of NIO's decoder.
                                        try channel.pipeline.syncOperations.addHandler(WebSocketSubscriberHandler(subscriber), position: .first)
                                        return true
                                    }
                                }
                                var headers = HTTPHeaders()
                                headers.add(name: "Host", value: "\(host):\(port)")
                                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws/market-data", headers: headers)
                                let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Bool>(
                                    upgradeRequestHead: head, upgraders: [upgrader],
                                    notUpgradingCompletionHandler: { $0.eventLoop.makeSucceededFuture(false) })
                                try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: .init(upgradeConfiguration: upgrade))
                                    .cascade(to: upgraded)
                            }
                        }
                        .connect(host: host, port: port)
                        .wait()
                    channels.append(channel)
                    guard try upgraded.futureResult.wait() else { throw BenchError("client \(n + 1): the daemon at \(host):\(port) refused the WebSocket upgrade") }
                    // Only now: while the upgrade is under way, the pipeline still speaks HTTP.
                    let command = "{\"type\":\"SUBSCRIBE\",\"symbols\":[" + symbols.map { "\"\(feed.symbols.name(of: $0))\"" }.joined(separator: ",") + "]}"
                    loop.execute { subscriber.send(ByteBuffer(string: command)) }
                case .redis:
                    channel = try ClientBootstrap(group: loop)
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(RedisSubscriberHandler(subscriber))
                            }
                        }
                        .connect(host: host, port: port)
                        .wait()
                    channels.append(channel)
                    var command: [UInt8] = []
                    RESP.appendCommand([Array("SUBSCRIBE".utf8)] + symbols.map { Array(feed.symbols.name(of: $0).utf8) }, to: &command)
                    let subscribe = command
                    loop.execute { subscriber.send(ByteBuffer(bytes: subscribe)) }
                }
                clients.append(subscriber)
            }
            let all = EventLoopFuture.andAllSucceed(clients.map(\.subscribed), on: group.next())
            let timeout = group.next().scheduleTask(in: .seconds(timeoutSeconds)) {
                throw BenchError("the server did not confirm every subscription within \(timeoutSeconds) s")
            }
            try all.or(timeout.futureResult).wait()
            timeout.cancel()
        } catch {
            for channel in channels { channel.close(promise: nil) }
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.clients = clients
        self.channels = channels
    }

    /// What each client received so far, in `mix` order.
    public func outcomes() throws -> [Outcome] {
        try clients.map { client in try client.loop.submit { client.outcome }.wait() }
    }

    /// Clients still connected.
    public var connected: Int { channels.filter(\.isActive).count }

    /// Closes every connection (a normal close) and stops the event loops.
    public func shutdown() {
        for client in clients { client.loop.execute { client.closeNormally() } }
        for channel in channels { _ = try? channel.closeFuture.wait() }
        try? group.syncShutdownGracefully()
    }
}

extension EventLoopFuture where Value == Void {
    /// Completes with whichever of `self` and `other` completes first.
    func or(_ other: EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        self.cascade(to: promise)
        other.hop(to: eventLoop).cascade(to: promise)
        return promise.futureResult
    }
}

/// One subscriber, whatever its protocol: counts and checks the ticks it receives.
///
/// Its state is touched only on `loop` (the channel's event loop); other threads read it through
/// `loop.submit`, which is why it can be `@unchecked Sendable`.
final class Subscriber: @unchecked Sendable {
    let received = ManagedAtomic<UInt64>(0)
    let loop: any EventLoop
    private(set) var outcome: LoadClients.Outcome
    private let feed: BenchFeed
    private let clock: BenchClock
    private let promise: EventLoopPromise<Void>
    private var confirmed = false
    /// The handler that owns the connection (set when it joins the pipeline).
    weak var connection: SubscriberConnection?

    init(subscription: [SymbolID], feed: BenchFeed, clock: BenchClock, loop: any EventLoop) {
        outcome = LoadClients.Outcome(subscription: subscription, tally: ClientTally(symbolCount: feed.symbols.count))
        self.feed = feed
        self.clock = clock
        self.loop = loop
        promise = loop.makePromise()
    }

    var subscribed: EventLoopFuture<Void> { promise.futureResult }

    func send(_ bytes: ByteBuffer) { connection?.send(bytes) }
    func closeNormally() { connection?.closeNormally() }

    /// One whole text message of the stream.
    func handle(_ text: ByteBuffer) { text.withUnsafeReadableBytes { handle($0) } }

    func handle(_ text: UnsafeRawBufferPointer) {
        let now = clock.now()
        let message = StreamMessage.parse(text, symbols: feed.symbols)
        switch message {
        case .tick(let symbol, let exchangeTime, let sequence):
            outcome.tally.tick(symbol: symbol, sequence: sequence, latencyNanos: now - exchangeTime, feed: feed)
            received.store(outcome.tally.ticks, ordering: .relaxed)
        case .candle: outcome.tally.candle()
        case .subscribed: confirm()
        case .snapshot: break
        case .error(let text):
            outcome.tally.error(text)
            fail("the server refused a subscription: \(text)")
        case .other(let text): outcome.tally.error("unexpected message: \(text.prefix(200))")
        }
    }

    func confirm() {
        guard !confirmed else { return }
        confirmed = true
        promise.succeed()
    }

    func fail(_ reason: String) {
        guard !confirmed else { return }
        confirmed = true
        promise.fail(BenchError(reason))
    }

    func closed(code: UInt16?, reason: String?) {
        outcome.closeCode = code
        outcome.closeReason = reason
        fail("the server closed a client before confirming its subscription (code \(code.map(String.init) ?? "none"): \(reason ?? ""))")
    }

    func ended(cleanly: Bool) {
        if outcome.closeCode == nil && !cleanly { outcome.failure = outcome.failure ?? "the connection ended without a close from the server" }
        fail("a client's connection closed before its subscription was confirmed")
    }

    func failed(_ error: any Error) { outcome.failure = "\(error)" }
}

/// Received bytes not yet a whole message, joined with the next ones before they are read.
struct PendingBytes {
    private var held: ByteBuffer?

    /// Reads `bytes` after what is held: `consume` returns how many bytes it took; the rest is held.
    mutating func read(_ bytes: ByteBuffer, _ consume: (UnsafeRawBufferPointer) throws -> Int) throws {
        var all = bytes
        if var earlier = held {
            earlier.writeBuffer(&all)
            all = earlier
        }
        let taken = try all.withUnsafeReadableBytes(consume)
        all.moveReaderIndex(forwardBy: taken)
        held = all.readableBytes > 0 ? all : nil
    }
}

/// What a subscriber's protocol handler does for it.
protocol SubscriberConnection: AnyObject {
    func send(_ bytes: ByteBuffer)
    func closeNormally()
}

/// A WebSocket subscriber's handler, first in the pipeline once the connection is upgraded: reads
/// server frames (RFC 6455 §5.2) straight from the received bytes and hands each text message
/// (joined from fragments) to its `Subscriber`. NIO's frame decoder would allocate a frame and a
/// buffer per message; a load generator that costs as much as the server distorts what it measures.
final class WebSocketSubscriberHandler: ChannelInboundHandler, SubscriberConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let subscriber: Subscriber
    private var context: ChannelHandlerContext?
    private var closeSent = false
    private var pending = PendingBytes()
    /// A message whose first frames have come (the server splits long ones).
    private var fragments: [UInt8]?

    init(_ subscriber: Subscriber) { self.subscriber = subscriber }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do { try pending.read(unwrapInboundIn(data)) { try frames(in: $0) } } catch {
            subscriber.failed(error)
            context.close(promise: nil)
        }
    }

    /// Handles every whole frame at the front of `b`; returns the bytes they took.
    private func frames(in b: UnsafeRawBufferPointer) throws -> Int {
        var at = 0
        while b.count - at >= 2 {
            let first = b[at], second = b[at + 1]
            guard second & 0x80 == 0 else { throw BenchError("the server sent a masked frame") }
            var length = Int(second & 0x7f)
            var header = 2
            if length == 126 {
                guard b.count - at >= 4 else { break }
                length = Int(b[at + 2]) << 8 | Int(b[at + 3])
                header = 4
            } else if length == 127 {
                guard b.count - at >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(b[at + 2 + $1]) }
                header = 10
                guard length <= 1 << 24 else { throw BenchError("a frame of \(length) bytes") }
            }
            guard b.count - at >= header + length else { break }
            frame(fin: first & 0x80 != 0, opcode: first & 0x0f, UnsafeRawBufferPointer(rebasing: b[(at + header)..<(at + header + length)]))
            at += header + length
        }
        return at
    }

    private func frame(fin: Bool, opcode: UInt8, _ payload: UnsafeRawBufferPointer) {
        switch opcode {
        case 0x1 where fin:
            subscriber.handle(payload)
        case 0x1:
            fragments = Array(payload)
        case 0x0:
            guard fragments != nil else { return }
            fragments! += payload
            if fin, let whole = fragments {
                fragments = nil
                whole.withUnsafeBytes { subscriber.handle($0) }
            }
        case 0x8:
            let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
            let reason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : nil
            subscriber.closed(code: code, reason: reason)
            closeNormally()
        case 0x9:
            write(opcode: 0xA, payload)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscriber.ended(cleanly: closeSent)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        subscriber.failed(error)
        context.close(promise: nil)
    }

    func send(_ bytes: ByteBuffer) { bytes.withUnsafeReadableBytes { write(opcode: 0x1, $0) } }

    /// Sends a normal close (1000) unless one was sent, then closes the connection.
    func closeNormally() {
        guard let context, context.channel.isActive else { return }
        if !closeSent {
            closeSent = true
            [UInt8(0x03), 0xE8].withUnsafeBytes { write(opcode: 0x8, $0) }
        }
        context.close(promise: nil)
    }

    /// One final client frame, masked as clients must (RFC 6455 §5.3).
    private func write(opcode: UInt8, _ payload: UnsafeRawBufferPointer) {
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: payload.count + 14)
        out.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            out.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= Int(UInt16.max) {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(payload.count))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(payload.count))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out.writeBytes(mask)
        for (i, byte) in payload.enumerated() { out.writeInteger(byte ^ mask[i & 3]) }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}

/// A Redis subscriber's handler: reads what Redis pushes where it lies (`RESPScanner`) and hands
/// `subscribe` confirmations (one per channel) and `message` payloads to its `Subscriber`.
final class RedisSubscriberHandler: ChannelInboundHandler, SubscriberConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let subscriber: Subscriber
    private var context: ChannelHandlerContext?
    private var confirmations = 0
    private var closing = false
    private var pending = PendingBytes()

    init(_ subscriber: Subscriber) { self.subscriber = subscriber }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do { try pending.read(unwrapInboundIn(data)) { try RESPScanner.scan($0) { b, elements in push(b, elements) } } } catch {
            subscriber.failed(error)
            context.close(promise: nil)
        }
    }

    private func push(_ b: UnsafeRawBufferPointer, _ elements: [RESPScanner.Element]) {
        guard case .bulk(let kind)? = elements.first else {
            if case .error(let text)? = elements.first { subscriber.fail("Redis refused a command: \(String(decoding: b[text], as: UTF8.self))") }
            return
        }
        let name = UnsafeRawBufferPointer(rebasing: b[kind])
        if name.elementsEqual("message".utf8) {
            if elements.count == 3, case .bulk(let payload) = elements[2] { subscriber.handle(UnsafeRawBufferPointer(rebasing: b[payload])) }
        } else if name.elementsEqual("subscribe".utf8) {
            confirmations += 1
            if confirmations == subscriber.outcome.subscription.count { subscriber.confirm() }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscriber.ended(cleanly: closing)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        subscriber.failed(error)
        context.close(promise: nil)
    }

    func send(_ bytes: ByteBuffer) { context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }

    func closeNormally() {
        closing = true
        context?.close(promise: nil)
    }
}
