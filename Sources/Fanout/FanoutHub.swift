import Aggregator
import Atomics
import Ingest
import NIOCore
import Synchronization

/// The fan-out thread's consumer: routes each tick of the fan-out lane, and each closed or
/// corrected candle, to the clients subscribed to its symbol. A message is encoded once and
/// shared by every client that gets it. Subscriptions change through requests that connections
/// post from any thread; the hub applies them between batches, so a client's `SUBSCRIBED`, its
/// `SNAPSHOT` and the ticks after it arrive in that order.
///
/// The snapshot and the stream meet without a seam: the aggregator publishes its state with the
/// number of ticks the fan-out lane had been handed (`LatestPrices.Snapshot.stamp(of:)`). Until a
/// state that includes every tick routed before the subscription is published (at most the
/// aggregator's publication interval, 50 ms), the client's messages are held; then its snapshot
/// goes out, followed by the held ticks that the snapshot does not already include.
public final class FanoutHub: TickConsumer, @unchecked Sendable {
    public struct Options: Sendable {
        /// Connections beyond this are refused (closed with WebSocket code 1013).
        public var maximumClients = 256
        /// Messages a client may have queued before it counts as slow and is disconnected.
        public var clientQueueCapacity = 16_384
        public init() {}
    }

    private enum Request {
        case add(FanoutClient)
        case command(FanoutClient.ID, ClientCommand)
        case remove(FanoutClient.ID)
        case notice(String)
    }

    /// A client's messages while it waits for a snapshot, in order.
    private enum Held {
        /// A message; `tick` is the symbol and lane index of a tick (nil for other messages).
        case message(ByteBuffer, tick: (symbol: SymbolID, index: UInt64)?)
        /// The snapshot of `symbols`, due once the published state includes lane tick `since`.
        case snapshot([SymbolID], since: UInt64)
    }

    public let options: Options
    /// The daemon's symbols (they may grow while it runs).
    public let symbols: SymbolUniverse
    private let latest: LatestPrices
    private let calendar: SessionCalendar
    private let lane: ConsumerLane
    private let candles: CandleOutlet?
    private let depth: DepthBoard?

    // Any thread.
    private let requests = Mutex<[Request]>([])
    private let hasRequests = ManagedAtomic<Bool>(false)
    private let nextID = ManagedAtomic<Int>(1)
    private let stopped = ManagedAtomic<Bool>(false)

    // Fan-out thread.
    /// Symbol names by id, learned from `symbols` as ids beyond them appear.
    private var names: SymbolNames<String>
    private var table: SubscriptionTable
    /// Who asked for depth, of which symbols.
    private var depthTable: SubscriptionTable
    /// The depth board's version last sent.
    private var depthVersion: UInt64 = 0
    private var clients: [FanoutClient.ID: FanoutClient] = [:]
    private var consumedTicks: UInt64 = 0
    private var updates: [CandleUpdate] = []
    /// Clients waiting for a snapshot, with their messages since.
    private var holding: [FanoutClient.ID: [Held]] = [:]
    /// Snapshots sent whose state is ahead of the lane: ticks of these symbols up to the stamp are
    /// in them already and are not sent again.
    private var covered: [FanoutClient.ID: [(symbols: [SymbolID], stamp: UInt64)]] = [:]

    /// Counters for metrics.
    public let clientsConnected = ManagedAtomic<Int>(0)
    public let clientsRefused = ManagedAtomic<UInt64>(0)
    public let slowClients = ManagedAtomic<UInt64>(0)
    public let messagesQueued = ManagedAtomic<UInt64>(0)
    public let candlesSent = ManagedAtomic<UInt64>(0)
    private var queued: UInt64 = 0

    /// - Parameters:
    ///   - lane: the lane this hub consumes; its doorbell is rung when a request is posted.
    ///   - candles: the aggregator's candle updates for the fan-out (stamped against `lane`).
    ///   - depth: exchange feeds' books, for clients that subscribe with depth.
    public init(symbols: SymbolUniverse, latest: LatestPrices, calendar: SessionCalendar, lane: ConsumerLane, candles: CandleOutlet?,
                depth: DepthBoard? = nil, options: Options = Options()) {
        precondition(options.maximumClients > 0 && options.clientQueueCapacity > 0)
        self.options = options
        self.symbols = symbols
        names = SymbolNames(symbols) { $0 }
        self.latest = latest
        self.calendar = calendar
        self.lane = lane
        self.candles = candles
        self.depth = depth
        table = SubscriptionTable(symbolCount: names.all.count)
        depthTable = SubscriptionTable(symbolCount: names.all.count)
    }

    // MARK: - Connections (any thread)

    /// A new client's queue, or nil when `maximumClients` are connected or the daemon is stopping.
    /// `onSlow` is called (on the fan-out thread) when the client falls too far behind, `onReady`
    /// when its queue has messages for its writer (`FanoutClient`).
    public func connect(onSlow: @escaping @Sendable () -> Void = {}, onReady: @escaping @Sendable () -> Void = {}) -> FanoutClient? {
        guard !stopped.load(ordering: .acquiring) else { return nil }
        while true {
            let n = clientsConnected.load(ordering: .relaxed)
            guard n < options.maximumClients else {
                clientsRefused.wrappingIncrement(ordering: .relaxed)
                return nil
            }
            if clientsConnected.compareExchange(expected: n, desired: n + 1, ordering: .relaxed).exchanged { break }
        }
        let client = FanoutClient(id: nextID.loadThenWrappingIncrement(ordering: .relaxed), capacity: options.clientQueueCapacity, onSlow: onSlow, onReady: onReady)
        post(.add(client))
        return client
    }

    /// Applies a client's command on the fan-out thread; the reply comes through its queue.
    public func submit(_ command: ClientCommand, from client: FanoutClient) { post(.command(client.id, command)) }

    /// The client's connection ended.
    public func disconnect(_ client: FanoutClient) {
        client.close()
        clientsConnected.wrappingDecrement(ordering: .relaxed)
        post(.remove(client.id))
    }

    /// True once the lane has finished: queues end and connections close with "going away".
    /// Tells every client what happened to a feed (`FEED_STATUS`), from any thread.
    public func announce(_ notice: FeedNotice) { post(.notice(MarketMessage.feedStatus(notice))) }

    public var isStopping: Bool { stopped.load(ordering: .acquiring) }

    private func post(_ request: Request) {
        requests.withLock { $0.append(request) }
        hasRequests.store(true, ordering: .releasing)
        lane.doorbell.ring()
    }

    // MARK: - Fan-out thread

    public var idleIntervalNanos: Int64 { 20_000_000 }
    public var hasPendingWork: Bool { hasRequests.load(ordering: .acquiring) }

    public func consume(_ ticks: UnsafeBufferPointer<Tick>) {
        applyRequests()
        receiveCandles()
        for tick in ticks {
            consumedTicks += 1
            guard table.hasSubscribers(tick.symbol) else { continue }
            deliver(MarketMessage.tick(tick, symbol: names.value(of: tick.symbol)), to: tick.symbol, tickIndex: consumedTicks)
        }
        sendDueCandles(all: false)
        sendDepth()
        releaseHeld(final: false)
        publishCounters()
    }

    public func idle(now: Int64) {
        applyRequests()
        receiveCandles()
        sendDueCandles(all: false)
        sendDepth()
        releaseHeld(final: false)
        publishCounters()
    }

    /// The lane is drained: the last candles go out, then every client's queue ends, so their
    /// connections close once what was queued is written.
    public func finish() {
        stopped.store(true, ordering: .releasing)
        applyRequests()
        receiveCandles()
        sendDueCandles(all: true)
        applyRequests()
        releaseHeld(final: true)
        for client in clients.values { client.close() }
        clients.removeAll()
        publishCounters()
    }

    private func applyRequests() {
        guard hasRequests.load(ordering: .acquiring) else { return }
        let pending = requests.withLock { r in
            hasRequests.store(false, ordering: .releasing)
            defer { r.removeAll(keepingCapacity: true) }
            return r
        }
        for request in pending {
            switch request {
            case .add(let client):
                if stopped.load(ordering: .relaxed) { client.close() } else { clients[client.id] = client }
            case .remove(let id):
                forget(id)
            case .command(let id, let command):
                guard let client = clients[id] else { continue }
                apply(command, for: client)
            case .notice(let text):
                for client in clients.values { send(text, to: client) }
            }
        }
    }

    private func apply(_ command: ClientCommand, for client: FanoutClient) {
        // The command may name symbols that joined since the hub last looked.
        names.learn()
        switch command {
        case .subscribe(let ids, let wantsDepth):
            table.subscribe(client.id, to: ids)
            send(MarketMessage.subscriptions("SUBSCRIBED", changed: ids, now: table.symbols(of: client.id), names: names.all), to: client)
            holding[client.id, default: []].append(.snapshot(ids, since: consumedTicks))
            if wantsDepth, let depth {
                // Changes so far go to the clients before; this one starts from the latest.
                sendDepth()
                depthTable.subscribe(client.id, to: ids)
                for id in ids {
                    if let d = depth.latest(id) { send(MarketMessage.depth(d, symbol: names.value(of: id)), to: client) }
                }
            }
            releaseHeld(client, final: false)
        case .unsubscribe(let ids):
            table.unsubscribe(client.id, from: ids)
            depthTable.unsubscribe(client.id, from: ids)
            send(MarketMessage.subscriptions("UNSUBSCRIBED", changed: ids, now: table.symbols(of: client.id), names: names.all), to: client)
        }
    }

    private func receiveCandles() {
        if let candles { _ = candles.ring.drain(maximum: .max) { updates.append(contentsOf: $0) } }
    }

    /// Candles whose ticks have all gone out (by their stamps), so a candle follows its trades.
    private func sendDueCandles(all: Bool) {
        guard let last = all ? updates.indices.last : updates.lastIndex(where: { $0.stamp <= consumedTicks }) else { return }
        for u in updates[...last] where u.kind != .rebuild && table.hasSubscribers(u.candle.symbol) {
            deliver(MarketMessage.candle(u.candle, symbol: names.value(of: u.candle.symbol), corrected: u.kind == .corrected), to: u.candle.symbol,
                    tickIndex: nil)
            candlesSent.wrappingIncrement(ordering: .relaxed)
        }
        updates.removeSubrange(...last)
    }

    /// The depth that changed since the last look, to the clients that asked for it.
    private func sendDepth() {
        guard let depth else { return }
        let version = depth.version.load(ordering: .acquiring)
        guard version != depthVersion else { return }
        guard depthTable.clientCount > 0 else {
            depthVersion = version
            return
        }
        let (now, changed) = depth.changed(since: depthVersion)
        depthVersion = now
        for d in changed where depthTable.hasSubscribers(d.symbol) {
            let message = ByteBuffer(string: MarketMessage.depth(d, symbol: names.value(of: d.symbol)))
            for id in depthTable.subscribers(of: d.symbol) {
                if let client = clients[id] { send(message, to: client, tick: nil) }
            }
        }
    }

    private func deliver(_ text: String, to symbol: SymbolID, tickIndex: UInt64?) {
        let message = ByteBuffer(string: text)
        let tick = tickIndex.map { (symbol: symbol, index: $0) }
        for id in table.subscribers(of: symbol) {
            guard let client = clients[id] else { continue }
            send(message, to: client, tick: tick)
        }
    }

    private func send(_ text: String, to client: FanoutClient) { send(ByteBuffer(string: text), to: client, tick: nil) }

    /// Queues a message, or holds it while the client waits for a snapshot.
    private func send(_ message: ByteBuffer, to client: FanoutClient, tick: (symbol: SymbolID, index: UInt64)?) {
        // Both tables are empty but for a moment after a subscription: the usual path is two tests.
        if !covered.isEmpty, let tick, isCovered(tick, for: client.id) { return }
        guard !holding.isEmpty, holding[client.id] != nil else {
            queue(message, to: client)
            return
        }
        holding[client.id]!.append(.message(message, tick: tick))
        // Held messages count against the client's queue like queued ones.
        if holding[client.id]!.count > client.capacity {
            client.cutOff()
            slowClients.wrappingIncrement(ordering: .relaxed)
            forget(client.id)
        }
    }

    @discardableResult
    private func queue(_ message: ByteBuffer, to client: FanoutClient) -> Bool {
        if client.send(message) {
            queued += 1
            return true
        }
        // Too slow (or already gone): no more messages; its connection closes and says why.
        if clients[client.id] != nil, client.isSlow { slowClients.wrappingIncrement(ordering: .relaxed) }
        forget(client.id)
        return false
    }

    private func forget(_ id: FanoutClient.ID) {
        clients[id] = nil
        holding[id] = nil
        covered[id] = nil
        table.remove(id)
        depthTable.remove(id)
    }

    private func isCovered(_ tick: (symbol: SymbolID, index: UInt64), for id: FanoutClient.ID) -> Bool {
        covered[id]?.contains { tick.index <= $0.stamp && $0.symbols.contains(tick.symbol) } ?? false
    }

    /// Sends the snapshots whose state has been published, each followed by the held messages it
    /// does not already include; `final` (the lane has ended) sends whatever state there is.
    private func releaseHeld(final: Bool) {
        guard !holding.isEmpty || !covered.isEmpty else { return }
        for id in Array(holding.keys) {
            guard let client = clients[id] else { holding[id] = nil; continue }
            releaseHeld(client, final: final)
        }
        for (id, stamps) in covered where stamps.allSatisfy({ $0.stamp <= consumedTicks }) { covered[id] = nil }
    }

    private func releaseHeld(_ client: FanoutClient, final: Bool) {
        guard let entries = holding[client.id] else { return }
        var next = 0
        release: while next < entries.count {
            switch entries[next] {
            case .message(let message, let tick):
                if let tick, isCovered(tick, for: client.id) { break }
                guard queue(message, to: client) else { return }
            case .snapshot(let ids, let since):
                let snapshot = latest.snapshot(ids)
                let stamp = snapshot.stamp(of: lane) ?? 0
                guard stamp >= since || final else { break release }
                guard queue(ByteBuffer(string: MarketMessage.snapshot(snapshot, names: names.all, calendar: calendar)), to: client) else { return }
                if stamp > since { covered[client.id, default: []].append((ids, stamp)) }
            }
            next += 1
        }
        holding[client.id] = next == entries.count ? nil : Array(entries[next...])
    }

    private func publishCounters() { messagesQueued.store(queued, ordering: .relaxed) }
}
