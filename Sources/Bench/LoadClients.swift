import Atomics
import Ingest
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Many `/ws/market-data` subscribers in this one process: each a NIO channel with a small
/// handler, all on a few event-loop threads, so that the load generator costs little and a stall
/// in it is not mistaken for the daemon's.
public final class LoadClients: Sendable {
    public struct Outcome: Sendable {
        public var subscription: [SymbolID]
        public var tally: ClientTally
        /// The server's close code and reason, if it closed the connection.
        public var closeCode: UInt16?
        public var closeReason: String?
        /// The connection ended without a close frame from the server, or failed to open.
        public var failure: String?
    }

    private let group: MultiThreadedEventLoopGroup
    private let clients: [LoadClientHandler]
    private let channels: [Channel]

    /// Total ticks received by every client so far (for progress lines).
    public var ticksReceived: UInt64 { clients.reduce(0) { $0 + $1.received.load(ordering: .relaxed) } }

    /// Connects one client per subscription of `mix` to `ws://host:port/ws/market-data`, subscribes
    /// each, and returns once every server has confirmed (`SUBSCRIBED`). Throws, closing what was
    /// opened, if any connection or subscription fails within `timeoutSeconds`.
    public init(host: String, port: Int, mix: SubscriptionMix, feed: BenchFeed, clock: BenchClock, threads: Int,
                timeoutSeconds: Int64 = 30) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var clients: [LoadClientHandler] = []
        var channels: [Channel] = []
        var subscribed: [EventLoopFuture<Void>] = []
        do {
            for (n, symbols) in mix.clients.enumerated() {
                let command = "{\"type\":\"SUBSCRIBE\",\"symbols\":[" + symbols.map { "\"\(feed.symbols.name(of: $0))\"" }.joined(separator: ",") + "]}"
                let loop = group.next()
                let handler = LoadClientHandler(subscription: symbols, command: command, feed: feed, clock: clock, loop: loop)
                let upgraded = loop.makePromise(of: Bool.self)
                let channel = try ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: 1 << 24) { channel, _ in
                                channel.eventLoop.makeCompletedFuture {
                                    try channel.pipeline.syncOperations.addHandler(handler)
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
                clients.append(handler)
                // Only now: while the upgrade is under way, the pipeline still speaks HTTP.
                loop.execute { handler.subscribe() }
                subscribed.append(handler.subscribed)
            }
            let all = EventLoopFuture.andAllSucceed(subscribed, on: group.next())
            let timeout = group.next().scheduleTask(in: .seconds(timeoutSeconds)) {
                throw BenchError("the daemon did not confirm every subscription within \(timeoutSeconds) s")
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

    /// Closes every connection (a normal WebSocket close) and stops the event loops.
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

/// One subscriber's channel handler: sends its `SUBSCRIBE`, then counts what arrives.
///
/// Its state is touched only on `loop` (the channel's event loop); other threads read it through
/// `loop.submit`, which is why it can be `@unchecked Sendable`.
final class LoadClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let received = ManagedAtomic<UInt64>(0)
    private(set) var outcome: LoadClients.Outcome
    private let command: String
    private let feed: BenchFeed
    private let clock: BenchClock
    private let promise: EventLoopPromise<Void>
    let loop: any EventLoop
    private var context: ChannelHandlerContext?
    private var confirmed = false
    private var closeSent = false
    /// A message whose first frames have come (the server splits long ones).
    private var fragments: ByteBuffer?

    init(subscription: [SymbolID], command: String, feed: BenchFeed, clock: BenchClock, loop: any EventLoop) {
        outcome = LoadClients.Outcome(subscription: subscription, tally: ClientTally(symbolCount: feed.symbols.count))
        self.command = command
        self.feed = feed
        self.clock = clock
        self.loop = loop
        self.promise = loop.makePromise()
    }

    var subscribed: EventLoopFuture<Void> { promise.futureResult }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func subscribe() {
        guard let context else { return }
        send(.text, ByteBuffer(string: command), context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text where !frame.fin:
            fragments = frame.data
        case .continuation:
            guard var message = fragments else { return }
            var part = frame.data
            message.writeBuffer(&part)
            fragments = frame.fin ? nil : message
            if frame.fin { handle(message) }
        case .text:
            handle(frame.data)
        case .connectionClose:
            var data = frame.unmaskedData
            outcome.closeCode = data.readInteger(as: UInt16.self)
            outcome.closeReason = data.readString(length: data.readableBytes)
            if !confirmed {
                confirmed = true
                promise.fail(BenchError("the daemon closed a client before confirming its subscription (code \(outcome.closeCode.map(String.init) ?? "none"): \(outcome.closeReason ?? ""))"))
            }
            closeNormally()
        case .ping:
            send(.pong, frame.unmaskedData, context: context)
        default:
            break
        }
    }

    /// One whole text message.
    private func handle(_ text: ByteBuffer) {
        let now = clock.now()
        let message = text.withUnsafeReadableBytes { StreamMessage.parse($0, symbols: feed.symbols) }
        switch message {
        case .tick(let symbol, let exchangeTime, let sequence):
            outcome.tally.tick(symbol: symbol, sequence: sequence, latencyNanos: now - exchangeTime, feed: feed)
            received.store(outcome.tally.ticks, ordering: .relaxed)
        case .candle: outcome.tally.candle()
        case .subscribed:
            if !confirmed { confirmed = true; promise.succeed() }
        case .snapshot: break
        case .error(let text):
            outcome.tally.error(text)
            if !confirmed { confirmed = true; promise.fail(BenchError("the daemon refused a subscription: \(text)")) }
        case .other(let text): outcome.tally.error("unexpected message: \(text.prefix(200))")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if outcome.closeCode == nil && !closeSent { outcome.failure = "the connection ended without a WebSocket close" }
        if !confirmed { confirmed = true; promise.fail(BenchError("a client's connection closed before its subscription was confirmed")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        outcome.failure = "\(error)"
        context.close(promise: nil)
    }

    /// Sends a normal close (1000) unless one was sent, then closes the connection.
    func closeNormally() {
        guard let context, context.channel.isActive else { return }
        if !closeSent {
            closeSent = true
            var body = context.channel.allocator.buffer(capacity: 2)
            body.writeInteger(UInt16(1000))
            send(.connectionClose, body, context: context)
        }
        context.close(promise: nil)
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer, context: ChannelHandlerContext) {
        // Clients mask every frame (RFC 6455 5.3).
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}
