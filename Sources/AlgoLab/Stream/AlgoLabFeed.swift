import Atomics
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Ingest
import Logging
import NIOCore
import NIOSSL
import RingBuffer
import ServiceLifecycle

/// AlgoLab's market-data WebSocket as a feed of the pipeline (`format = "algolab"`): connects
/// with the session's headers, subscribes to the market's symbols (trades, and depth for the top
/// of book), sends the heartbeat, and turns what arrives into ticks with per-feed sequence
/// numbers (continuing after the stored ones). It reconnects with backoff and subscribes again;
/// a reconnect may have lost ticks (AlgoLab has no sequence numbers and no replay), which is
/// counted, logged and told to the fan-out's clients.
///
/// It runs as a task, not on a hot-path thread: the io_uring readers never wait for it. When the
/// pipeline's ring is full it waits (with async sleeps), which holds back the socket.
public final class AlgoLabFeed: TickSource, Service, @unchecked Sendable {
    public let feeds: [FeedEndpoint]
    public let counters: [FeedCounters]
    public let ring: SPSCRing<Tick>
    public let doorbell: Doorbell
    public let finished = ManagedAtomic<Bool>(false)
    public let ringFullWaits = ManagedAtomic<UInt64>(0)
    public var receiveDescription: String { "websocket" }
    /// Depth rows below the top of book (not kept), and messages of types not known.
    public let deeperDepthRows = ManagedAtomic<UInt64>(0)
    public let unknownMessages = ManagedAtomic<UInt64>(0)
    public let orderUpdates: AlgoLabOrderUpdates

    public struct Options: Sendable {
        public var webSocketURL: String
        public var depth = true
        public var heartbeatInterval: Duration = .seconds(15)
        /// Messages longer than this end the connection (AlgoLab's are a few hundred bytes).
        public var maximumMessageBytes = 1 << 20

        public init(webSocketURL: String) {
            self.webSocketURL = webSocketURL
        }
    }

    private let options: Options
    private let keeper: AlgoLabSessionKeeper
    private let symbolNames: [String]
    private let announce: @Sendable (FeedNotice) -> Void
    private let log: @Sendable (String) -> Void
    // The connection's state: one connection at a time, so one task touches it at a time.
    private var decoder: AlgoLabStreamDecoder
    private var nextSequence: UInt64
    private var backoff: ReconnectBackoff
    /// Since when the feed is down after having been up: the start of a possible gap.
    private var lostSince: Int64?
    private var rejectLog = LogRateLimiter()
    private var unknownLog = LogRateLimiter()

    public init(feed: FeedEndpoint, symbols: SymbolTable, ringCapacity: Int, doorbell: Doorbell, checkpoint: UInt64?,
                keeper: AlgoLabSessionKeeper, orderUpdates: AlgoLabOrderUpdates, options: Options,
                announce: @escaping @Sendable (FeedNotice) -> Void, log: @escaping @Sendable (String) -> Void) {
        feeds = [feed]
        counters = [FeedCounters()]
        ring = SPSCRing(minimumCapacity: ringCapacity)
        self.doorbell = doorbell
        self.keeper = keeper
        self.orderUpdates = orderUpdates
        self.options = options
        self.announce = announce
        self.log = log
        symbolNames = (0..<symbols.count).map { symbols.name(of: SymbolID(UInt32($0))) }
        decoder = AlgoLabStreamDecoder(symbols: symbols, feed: feed.id)
        nextSequence = (checkpoint ?? 0) + 1
        backoff = ReconnectBackoff(initialNanos: feed.reconnectInitialNanos, maximumNanos: feed.reconnectMaximumNanos)
    }

    private var feed: FeedEndpoint { feeds[0] }

    public func run() async throws {
        defer {
            orderUpdates.finish()
            finished.store(true, ordering: .releasing)
            doorbell.ring()
        }
        let tls: TLSConfiguration? = options.webSocketURL.hasPrefix("wss://") ? {
            // The REST client's trust roots; a stopping daemon, as for the close handshake, does
            // not wait long for the peer's close_notify.
            var tls = keeper.client.tls
            tls.shutdownTimeout = .seconds(1)
            return tls
        }() : nil
        var waitingLogged = false
        log("feed \(feed.name) (id \(feed.id), algolab): \(options.webSocketURL), \(symbolNames.count) symbols\(options.depth ? ", trades and top of book" : ", trades")")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let hash = keeper.authorization else {
                if !waitingLogged { log("feed \(feed.name): waiting for an AlgoLab session (akis algolab login)") }
                waitingLogged = true
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                continue
            }
            waitingLogged = false
            let connected = ManagedAtomic<Bool>(false)
            var failure: String?
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.connect(hash: hash, tls: tls) {
                        connected.store(true, ordering: .relaxed)
                        self.opened()
                    }
                }
            } catch {
                failure = "\(error)"
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if connected.load(ordering: .relaxed) {
                counters[0].disconnects.wrappingIncrement(ordering: .relaxed)
                if lostSince == nil { lostSince = Clock.wallNanos() }
            } else {
                counters[0].connectFailures.wrappingIncrement(ordering: .relaxed)
                // A refused upgrade may be an expired session: have it checked now.
                keeper.recheck()
            }
            let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
            log("feed \(feed.name): " + (connected.load(ordering: .relaxed) ? "disconnected" : "cannot connect")
                + (failure.map { " (\($0))" } ?? "") + "; trying again in \(delay / 1_000_000) ms")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(delay)) }
        }
    }

    /// Subscribed: the backoff starts over, and a reconnect is told as a possible gap.
    private func opened() {
        backoff.reset()
        guard let from = lostSince else { return }
        lostSince = nil
        counters[0].possibleGaps.wrappingIncrement(ordering: .relaxed)
        log("feed \(feed.name): reconnected; ticks from \(UTCTime.formatISO8601(from)) to now may be missing (AlgoLab has no replay)")
        announce(FeedNotice(feed: feed.name, disconnectedAt: from, reconnectedAt: Clock.wallNanos()))
    }

    /// One connection, from the upgrade to its end.
    private func connect(hash: String, tls: TLSConfiguration?, onOpen: @escaping @Sendable () -> Void) async throws {
        var headers = HTTPFields()
        let apiKey = keeper.client.apiKey
        headers[HTTPField.Name("APIKEY")!] = apiKey.header
        headers[HTTPField.Name("Authorization")!] = hash
        headers[HTTPField.Name("Checker")!] = apiKey.checker(path: "/ws")
        // A stopping daemon waits at most a second for AlgoLab's answer to its close.
        let configuration = WebSocketClientConfiguration(maxFrameSize: options.maximumMessageBytes, additionalHeaders: headers, closeTimeout: .seconds(1))
        let subscriptions = [AlgoLabStreamCommand.subscribe(type: "T", token: hash, symbols: symbolNames)]
            + (options.depth ? [AlgoLabStreamCommand.subscribe(type: "D", token: hash, symbols: symbolNames)] : [])
        let heartbeat = AlgoLabStreamCommand.heartbeat(token: hash)
        let interval = options.heartbeatInterval
        let maximum = options.maximumMessageBytes
        try await WebSocketClient.connect(url: options.webSocketURL, configuration: configuration, tlsConfiguration: tls,
                                          logger: Logger(label: "akis-algolab")) { inbound, outbound, _ in
            self.counters[0].connections.wrappingIncrement(ordering: .relaxed)
            for command in subscriptions { try await outbound.write(.text(command)) }
            onOpen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: interval)
                        try await outbound.write(.text(heartbeat))
                    }
                }
                for try await message in inbound.messages(maxSize: maximum) {
                    switch message {
                    case .text(let text): try await self.receive(text)
                    case .binary: self.reject(.badJSON("a binary message (AlgoLab sends text)"))
                    }
                }
                group.cancelAll()
            }
        }
    }

    private func receive(_ text: String) async throws {
        var text = text
        let now = Clock.wallNanos()
        counters[0].bytes.wrappingIncrement(by: UInt64(text.utf8.count), ordering: .relaxed)
        let result = text.withUTF8 { decoder.decode(UnsafeRawBufferPointer($0), receiveTime: now) }
        switch result {
        case .success(.tick(var tick)):
            tick.sequence = nextSequence
            nextSequence += 1
            while !ring.push(tick) {
                ringFullWaits.wrappingIncrement(ordering: .relaxed)
                doorbell.ring()
                try await Task.sleep(for: .microseconds(200))
            }
            counters[0].ticks.wrappingIncrement(ordering: .relaxed)
            doorbell.ring()
        case .success(.order(let update)):
            orderUpdates.publish(update)
        case .success(.deeperDepth):
            deeperDepthRows.wrappingIncrement(ordering: .relaxed)
        case .success(.unknown(let type)):
            unknownMessages.wrappingIncrement(ordering: .relaxed)
            if let line = unknownLog.line("feed \(feed.name): a message of unknown type \(Sanitized(type)) (left)", now: Clock.monotonicNanos()) { log(line) }
        case .failure(let error):
            reject(error)
        }
    }

    private func reject(_ error: FrameError) {
        counters[0].countRejected(error.kind)
        if let line = rejectLog.line("feed \(feed.name): message rejected: \(error)", now: Clock.monotonicNanos()) { log(line) }
    }
}

/// The messages the client sends on the WebSocket.
enum AlgoLabStreamCommand {
    static func subscribe(type: String, token: String, symbols: [String]) -> String {
        "{\"Type\":\"\(type)\",\"Token\":\(JSONText.string(token)),\"Symbols\":[" + symbols.map { JSONText.string($0) }.joined(separator: ",") + "]}"
    }

    static func heartbeat(token: String) -> String { "{\"Type\":\"H\",\"Token\":\(JSONText.string(token))}" }
}
