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
    }

    public let options: Options
    private let names: [String]
    private let latest: LatestPrices
    private let calendar: SessionCalendar
    private let candles: CandleOutlet?
    private let doorbell: Doorbell

    // Any thread.
    private let requests = Mutex<[Request]>([])
    private let hasRequests = ManagedAtomic<Bool>(false)
    private let nextID = ManagedAtomic<Int>(1)
    private let stopped = ManagedAtomic<Bool>(false)

    // Fan-out thread.
    private var table: SubscriptionTable
    private var clients: [FanoutClient.ID: FanoutClient] = [:]
    private var consumedTicks: UInt64 = 0
    private var updates: [CandleUpdate] = []

    /// Counters for metrics.
    public let clientsConnected = ManagedAtomic<Int>(0)
    public let clientsRefused = ManagedAtomic<UInt64>(0)
    public let slowClients = ManagedAtomic<UInt64>(0)
    public let messagesQueued = ManagedAtomic<UInt64>(0)
    public let candlesSent = ManagedAtomic<UInt64>(0)
    private var queued: UInt64 = 0

    /// - Parameters:
    ///   - candles: the aggregator's candle updates for the fan-out (stamped against `lane`).
    ///   - doorbell: the fan-out lane's, rung when a request is posted so the thread wakes for it.
    public init(symbols: SymbolTable, latest: LatestPrices, calendar: SessionCalendar, candles: CandleOutlet?, doorbell: Doorbell,
                options: Options = Options()) {
        precondition(options.maximumClients > 0 && options.clientQueueCapacity > 0)
        self.options = options
        names = symbols.allNames
        self.latest = latest
        self.calendar = calendar
        self.candles = candles
        self.doorbell = doorbell
        table = SubscriptionTable(symbolCount: symbols.count)
    }

    // MARK: - Connections (any thread)

    /// A new client's queue, or nil when `maximumClients` are connected or the daemon is stopping.
    /// `onSlow` is called (on the fan-out thread) when the client falls too far behind.
    public func connect(onSlow: @escaping @Sendable () -> Void = {}) -> FanoutClient? {
        guard !stopped.load(ordering: .acquiring) else { return nil }
        while true {
            let n = clientsConnected.load(ordering: .relaxed)
            guard n < options.maximumClients else {
                clientsRefused.wrappingIncrement(ordering: .relaxed)
                return nil
            }
            if clientsConnected.compareExchange(expected: n, desired: n + 1, ordering: .relaxed).exchanged { break }
        }
        let client = FanoutClient(id: nextID.loadThenWrappingIncrement(ordering: .relaxed), capacity: options.clientQueueCapacity, onSlow: onSlow)
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
    public var isStopping: Bool { stopped.load(ordering: .acquiring) }

    private func post(_ request: Request) {
        requests.withLock { $0.append(request) }
        hasRequests.store(true, ordering: .releasing)
        doorbell.ring()
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
            deliver(MarketMessage.tick(tick, symbol: names[Int(tick.symbol.rawValue)]), to: tick.symbol)
        }
        sendDueCandles(all: false)
        publishCounters()
    }

    public func idle(now: Int64) {
        applyRequests()
        receiveCandles()
        sendDueCandles(all: false)
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
                clients[id] = nil
                table.remove(id)
            case .command(let id, let command):
                guard let client = clients[id] else { continue }
                apply(command, for: client)
            }
        }
    }

    private func apply(_ command: ClientCommand, for client: FanoutClient) {
        switch command {
        case .subscribe(let ids):
            table.subscribe(client.id, to: ids)
            send(MarketMessage.subscriptions("SUBSCRIBED", changed: ids, now: table.symbols(of: client.id), names: names), to: client)
            let snapshot = latest.snapshot(ids)
            let phase = snapshot.marketTime == 0 ? SessionPhase.closed : calendar.phase(at: snapshot.marketTime)
            send(MarketMessage.snapshot(snapshot, names: names, phase: phase), to: client)
        case .unsubscribe(let ids):
            table.unsubscribe(client.id, from: ids)
            send(MarketMessage.subscriptions("UNSUBSCRIBED", changed: ids, now: table.symbols(of: client.id), names: names), to: client)
        }
    }

    private func receiveCandles() {
        if let candles { _ = candles.ring.drain(maximum: .max) { updates.append(contentsOf: $0) } }
    }

    /// Candles whose ticks have all gone out (by their stamps), so a candle follows its trades.
    private func sendDueCandles(all: Bool) {
        guard let last = all ? updates.indices.last : updates.lastIndex(where: { $0.stamp <= consumedTicks }) else { return }
        for u in updates[...last] where u.kind != .rebuild && table.hasSubscribers(u.candle.symbol) {
            deliver(MarketMessage.candle(u.candle, symbol: names[Int(u.candle.symbol.rawValue)], corrected: u.kind == .corrected), to: u.candle.symbol)
            candlesSent.wrappingIncrement(ordering: .relaxed)
        }
        updates.removeSubrange(...last)
    }

    private func deliver(_ text: String, to symbol: SymbolID) {
        let message = ByteBuffer(string: text)
        for id in table.subscribers(of: symbol) {
            guard let client = clients[id] else { continue }
            send(message, to: client)
        }
    }

    private func send(_ text: String, to client: FanoutClient) { send(ByteBuffer(string: text), to: client) }

    private func send(_ message: ByteBuffer, to client: FanoutClient) {
        if client.send(message) {
            queued += 1
        } else if clients.removeValue(forKey: client.id) != nil {
            // Too slow (or already gone): no more messages; its connection closes and says why.
            if client.isSlow { slowClients.wrappingIncrement(ordering: .relaxed) }
            table.remove(client.id)
        }
    }

    private func publishCounters() { messagesQueued.store(queued, ordering: .relaxed) }
}
