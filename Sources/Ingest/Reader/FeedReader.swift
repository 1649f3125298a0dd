import Atomics
import Glibc
import RingBuffer

/// Settings shared by a reader's feeds.
public struct FeedReaderOptions: Sendable, Equatable {
    /// `nil` takes the best path the kernel offers; a forced path that fails is an error.
    public var receivePath: ReceivePath?
    /// Bytes per receive buffer. A UDP datagram longer than this is cut short (and its last frame
    /// counted as truncated).
    public var bufferSize: Int
    /// Provided buffers in the io_uring buffer ring (a power of two).
    public var bufferCount: Int
    public var maximumFrameBytes: Int
    /// Ticks handed to the pipeline ring at once (at the latest after each batch of completions).
    public var batchSize: Int

    public init(receivePath: ReceivePath? = nil, bufferSize: Int = 16 * 1024, bufferCount: Int = 1024,
                maximumFrameBytes: Int = 4096, batchSize: Int = 512) {
        self.receivePath = receivePath
        self.bufferSize = bufferSize
        self.bufferCount = bufferCount
        self.maximumFrameBytes = maximumFrameBytes
        self.batchSize = batchSize
    }
}

/// One reader thread serving any number of feeds through one I/O engine (io_uring when the kernel
/// allows): accepts or opens TCP connections, receives UDP datagrams, decodes frames in place
/// from the receive buffers, and hands ticks to the pipeline through its SPSC ring in batches.
/// Connect-mode feeds reconnect with exponential backoff and jitter.
///
/// `run` belongs to the reader's thread; other threads read only `counters`, `ringFullWaits`,
/// `finished` and the immutable properties.
public final class FeedReader: TickSource, @unchecked Sendable {
    public let feeds: [FeedEndpoint]
    /// Per feed, in the order of `feeds`.
    public let counters: [FeedCounters]
    /// Per feed, in the order of `feeds`: the receiver's and books' counters of an exchange feed.
    public let exchangeCounters: [ExchangeFeedCounters?]
    public let ring: SPSCRing<Tick>
    public let receivePath: ReceivePath
    /// The bound address of each listen-mode feed (with the real port when 0 was asked for).
    public let boundAddresses: [FeedAddress?]
    public let ringFullWaits = ManagedAtomic<UInt64>(0)
    /// Set once `run` has returned and every tick it decoded is in `ring`.
    public let finished = ManagedAtomic<Bool>(false)
    public var receiveDescription: String { receivePath.rawValue }
    /// Advances on every turn of the reader's loop (at least every 100 ms while it is healthy).
    public let heartbeat = ManagedAtomic<UInt64>(0)
    /// Rung after every hand-off to `ring`: the pipeline sleeps on it when idle.
    public let doorbell: Doorbell

    private var engine: (any FeedIOEngine)?
    private let contexts: [DecodeContext]
    private let log: (String) -> Void
    private let announce: (FeedNotice) -> Void
    /// The highest stored sequence per feed id: feeds this reader numbers itself go on after it.
    private let checkpoints: [UInt16: UInt64]
    /// Where exchange feeds publish their books' best levels.
    private let depth: DepthBoard?
    /// Where exchange feeds post their directory (instruments and tick sizes), for storage.
    private let directory: ExchangeDirectory?
    /// When set, the instruments exchange feeds announce join it (`symbols` is how it started).
    private let joining: SymbolUniverse?
    private let batcher: TickBatcher
    private var listeners: [Socket?]
    /// Per feed: the socket to an exchange feed's rewinder (requests out, answers in).
    private var rewinders: [Socket?]
    /// Per feed: an exchange feed's decoder, which both its sockets share.
    private var exchangeDecoders: [BISTITCHStreamDecoder?]
    private var feedStates: [FeedState]
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var nextConnection = 1

    private struct FeedState {
        var backoff: ReconnectBackoff
        var reconnectAt: Int64?
        var attempts = 0
        /// Connect-mode feeds: the resolved server address, kept for io_uring's connect.
        var address: UnsafeMutablePointer<sockaddr_storage>?
        var addressLength: UInt32 = 0
        var errorLog = LogRateLimiter()
    }

    private enum SlotState { case free, listening, connecting(deadline: Int64, cancelled: Bool), streaming, datagrams }

    private struct Slot {
        var generation: UInt32 = 0
        var feed = 0
        var fd: Int32 = -1
        var state = SlotState.free
        var decoder: StreamDecoder?
        var label = ""
        var ticks: UInt64 = 0
    }

    public init(feeds: [FeedEndpoint], symbols: SymbolTable, options: FeedReaderOptions = .init(), ring: SPSCRing<Tick>,
                doorbell: Doorbell = Doorbell(), checkpoints: [UInt16: UInt64] = [:], depth: DepthBoard? = nil,
                directory: ExchangeDirectory? = nil, joining: SymbolUniverse? = nil, log: @escaping (String) -> Void,
                announce: @escaping (FeedNotice) -> Void = { _ in }) throws {
        precondition(feeds.allSatisfy(\.format.isSocketFormat), "a socket reader reads socket formats only")
        precondition(feeds.allSatisfy { $0.format != .bistITCH || ($0.address.transport == .udp && $0.role == .listen) }, "bist-itch feeds are UDP")
        self.feeds = feeds
        self.doorbell = doorbell
        self.ring = ring
        self.log = log
        self.announce = announce
        self.checkpoints = checkpoints
        self.depth = depth
        self.directory = directory
        self.joining = joining
        counters = feeds.map { _ in FeedCounters() }
        exchangeCounters = feeds.map { $0.format == .bistITCH ? ExchangeFeedCounters() : nil }
        exchangeDecoders = feeds.map { _ in nil }
        contexts = feeds.map { DecodeContext(symbols: symbols, maximumFrameBytes: options.maximumFrameBytes, feed: $0.id) }
        let engine = try FeedIOEngines.make(options.receivePath, bufferSize: options.bufferSize, bufferCount: options.bufferCount) { path, error in
            log("reader: \(path.summary) is unavailable (\(error)); trying the next receive path")
        }
        self.engine = engine
        receivePath = engine.receivePath
        batcher = TickBatcher(ring: ring, doorbell: doorbell, capacity: options.batchSize, ringFullWaits: ringFullWaits)
        var listeners: [Socket?] = []
        var states: [FeedState] = []
        for feed in feeds {
            var state = FeedState(backoff: ReconnectBackoff(initialNanos: feed.reconnectInitialNanos, maximumNanos: feed.reconnectMaximumNanos))
            switch feed.role {
            case .listen:
                let socket = try Socket.bind(feed.address, multicastInterface: feed.multicastInterface)
                Socket.setNonBlocking(socket.fd)
                listeners.append(socket)
            case .connect:
                let resolved = try feed.address.resolve()
                let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
                storage.initialize(to: resolved.storage)
                state.address = storage
                state.addressLength = resolved.length
                listeners.append(nil)
            }
            states.append(state)
        }
        self.listeners = listeners
        rewinders = try feeds.map { feed in
            guard let rewinder = feed.exchange.rewinder else { return nil }
            let socket = try Socket.connect(to: rewinder)
            Socket.setNonBlocking(socket.fd)
            return socket
        }
        feedStates = states
        boundAddresses = listeners.map { $0?.boundAddress }
    }

    deinit {
        for state in feedStates { state.address?.deallocate() }
    }

    // MARK: The reader thread

    /// Serves the feeds until `stop` is set, then hands over every decoded tick and returns.
    public func run(stop: ManagedAtomic<Bool>) throws {
        defer { shutDown() }
        guard let engine else { return }
        for (i, feed) in feeds.enumerated() {
            if let listener = listeners[i] {
                let slot = open(feed: i, fd: listener.fd, state: feed.address.transport == .udp ? .datagrams : .listening, label: "\(feed.address)")
                if feed.format == .bistITCH {
                    let decoder = BISTITCHStreamDecoder(feed: feed, context: contexts[i], checkpoint: checkpoints[feed.id], exchange: exchangeCounters[i]!,
                                                        depth: depth, directory: directory, joining: joining, log: log, announce: announce)
                    exchangeDecoders[i] = decoder
                    slots[slot].decoder = decoder
                    try engine.receive(listener.fd, token: token(slot))
                    if let rewinder = rewinders[i] {
                        decoder.rewinderFD = rewinder.fd
                        let answers = open(feed: i, fd: rewinder.fd, state: .datagrams, label: "rewinder \(rewinder.address)")
                        slots[answers].decoder = decoder
                        try engine.receive(rewinder.fd, token: token(answers))
                    }
                } else if feed.address.transport == .udp {
                    slots[slot].decoder = StreamDecoder.make(feed.format, context: contexts[i])
                    try engine.receive(listener.fd, token: token(slot))
                } else {
                    try engine.accept(listener: listener.fd, token: token(slot))
                }
            } else {
                try connect(feed: i, now: Clock.monotonicNanos())
            }
        }
        var nextKernelDropSample: Int64 = 0
        while !stop.load(ordering: .relaxed) {
            heartbeat.wrappingIncrement(ordering: .relaxed)
            let now = Clock.monotonicNanos()
            var wake = now + 100_000_000
            for i in feeds.indices {
                guard let at = feedStates[i].reconnectAt else { continue }
                if at <= now { feedStates[i].reconnectAt = nil; try connect(feed: i, now: now) } else { wake = min(wake, at) }
            }
            for s in slots.indices {
                guard case .connecting(let deadline, false) = slots[s].state else { continue }
                if deadline <= now {
                    slots[s].state = .connecting(deadline: deadline, cancelled: true)
                    try engine.cancel(token: token(s))
                } else {
                    wake = min(wake, deadline)
                }
            }
            if now >= nextKernelDropSample {
                nextKernelDropSample = now + 1_000_000_000
                sampleKernelDrops()
            }
            try engine.wait(timeoutNanos: wake - now) { handle($0) }
            for (i, decoder) in exchangeDecoders.enumerated() {
                guard let decoder else { continue }
                let ticks = decoder.idle(now: Clock.monotonicNanos(), into: batcher, counters: counters[i]) { rejected($0, feed: i, label: "idle") }
                counters[i].ticks.wrappingIncrement(by: ticks, ordering: .relaxed)
            }
            batcher.flush()
        }
    }

    private func token(_ slot: Int) -> UInt64 { UInt64(slots[slot].generation) << 32 | UInt64(slot) }

    private func open(feed: Int, fd: Int32, state: SlotState, label: String) -> Int {
        let index = freeSlots.popLast() ?? { slots.append(Slot()); return slots.count - 1 }()
        slots[index].feed = feed
        slots[index].fd = fd
        slots[index].state = state
        slots[index].label = label
        slots[index].ticks = 0
        return index
    }

    /// Closes the slot's socket (after its last completion) and retires its token.
    private func close(slot index: Int) {
        engine?.forget(token: token(index))
        if !ownsSeparately(slots[index]) { Glibc.close(slots[index].fd) }
        slots[index].generation &+= 1
        slots[index].state = .free
        slots[index].decoder = nil
        slots[index].fd = -1
        freeSlots.append(index)
    }

    private func connect(feed i: Int, now: Int64) throws {
        let feed = feeds[i]
        feedStates[i].attempts += 1
        let fd = socket(Int32(feedStates[i].address!.pointee.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            retry(feed: i, now: now, reason: "cannot create a socket: \(SystemError.message(errno))")
            return
        }
        Socket.setNonBlocking(fd)
        Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let slot = open(feed: i, fd: fd, state: .connecting(deadline: now + feed.connectTimeoutNanos, cancelled: false), label: "\(feed.address)")
        try engine!.connect(fd, to: UnsafeRawPointer(feedStates[i].address!), length: feedStates[i].addressLength, token: token(slot))
    }

    private func retry(feed i: Int, now: Int64, reason: String) {
        let delay = feedStates[i].backoff.nextDelay(unit: Double.random(in: 0..<1))
        feedStates[i].reconnectAt = now + delay
        log("feed \(feeds[i].name): \(reason); reconnecting in \(Self.seconds(delay)) (attempt \(feedStates[i].attempts + 1))")
    }

    private func handle(_ c: IOCompletion) {
        let index = Int(truncatingIfNeeded: c.token & 0xFFFF_FFFF)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: c.token >> 32) else { return }
        let feed = slots[index].feed
        switch slots[index].state {
        case .free:
            return
        case .listening:
            if c.result >= 0 {
                Socket.setNonBlocking(c.result)
                let peer = Socket.peerDescription(c.result)
                let label = "connection \(nextConnection) from \(peer)"
                nextConnection += 1
                let s = open(feed: feed, fd: c.result, state: .streaming, label: label)
                slots[s].decoder = StreamDecoder.make(feeds[feed].format, context: contexts[feed])
                counters[feed].connections.wrappingIncrement(ordering: .relaxed)
                log("feed \(feeds[feed].name): \(label) opened on \(boundAddresses[feed]!)")
                armReceive(s)
            } else if let line = feedStates[feed].errorLog.line(
                "feed \(feeds[feed].name): cannot accept a connection: \(SystemError.message(-c.result))", now: Clock.monotonicNanos()) {
                log(line)
            }
            do { try engine!.accept(listener: slots[index].fd, token: token(index)) } catch {
                log("feed \(feeds[feed].name): stopped accepting connections: \(error)")
            }
        case .connecting:
            let now = Clock.monotonicNanos()
            if c.result == 0 {
                slots[index].state = .streaming
                slots[index].decoder = StreamDecoder.make(feeds[feed].format, context: contexts[feed])
                slots[index].label = "connection \(nextConnection) to \(feeds[feed].address)"
                nextConnection += 1
                counters[feed].connections.wrappingIncrement(ordering: .relaxed)
                log("feed \(feeds[feed].name): connected to \(feeds[feed].address) (attempt \(feedStates[feed].attempts))")
                armReceive(index)
            } else {
                counters[feed].connectFailures.wrappingIncrement(ordering: .relaxed)
                let reason = c.result == -ECANCELED ? "timed out after \(Self.seconds(feeds[feed].connectTimeoutNanos))" : SystemError.message(-c.result)
                close(slot: index)
                retry(feed: feed, now: now, reason: "cannot connect to \(feeds[feed].address): \(reason)")
            }
        case .streaming, .datagrams:
            received(c, slot: index)
        }
    }

    private func received(_ c: IOCompletion, slot index: Int) {
        let feed = slots[index].feed
        let datagrams = if case .datagrams = slots[index].state { true } else { false }
        if c.result > 0 {
            counters[feed].bytes.wrappingIncrement(by: UInt64(c.result), ordering: .relaxed)
            let decoder = slots[index].decoder!
            let now = Clock.wallNanos()
            let ticks = decoder.decode(c.bytes, receiveTime: now, into: batcher, counters: counters[feed]) { rejected($0, feed: feed, slot: index) }
            // Each datagram carries whole frames: a partial frame at its end will never be completed.
            if datagrams { decoder.finish(counters: counters[feed]) { rejected($0, feed: feed, slot: index) } }
            slots[index].ticks += ticks
            counters[feed].ticks.wrappingIncrement(by: ticks, ordering: .relaxed)
            if !c.more { armReceive(index) }
            return
        }
        if c.result == -ENOBUFS {
            // Every provided buffer was in use: the multishot receive ended; start it again.
            armReceive(index)
            return
        }
        if datagrams {
            if let line = feedStates[feed].errorLog.line(
                "feed \(feeds[feed].name): receive failed: \(SystemError.message(-c.result))", now: Clock.monotonicNanos()) {
                log(line)
            }
            if !c.more { armReceive(index) }
            return
        }
        if c.more { return }
        ended(slot: index, reason: c.result == 0 ? "closed by the peer" : SystemError.message(-c.result))
    }

    private func ended(slot index: Int, reason: String) {
        let feed = slots[index].feed
        slots[index].decoder?.finish(counters: counters[feed]) { rejected($0, feed: feed, slot: index) }
        counters[feed].disconnects.wrappingIncrement(ordering: .relaxed)
        let label = slots[index].label
        let ticks = slots[index].ticks
        close(slot: index)
        let summary = "feed \(feeds[feed].name): \(label) \(reason) after \(ticks) ticks"
        guard feeds[feed].role == .connect else { log(summary); return }
        if ticks > 0 { feedStates[feed].backoff.reset() }
        feedStates[feed].attempts = 0
        retry(feed: feed, now: Clock.monotonicNanos(), reason: summary)
    }

    private func armReceive(_ index: Int) {
        do { try engine!.receive(slots[index].fd, token: token(index)) } catch {
            log("feed \(feeds[slots[index].feed].name): \(slots[index].label): \(error)")
            if case .streaming = slots[index].state { ended(slot: index, reason: "could not be read") }
        }
    }

    private func rejected(_ error: FrameError, feed: Int, slot: Int) { rejected(error, feed: feed, label: slots[slot].label) }

    private func rejected(_ error: FrameError, feed: Int, label: String) {
        if let line = feedStates[feed].errorLog.line("feed \(feeds[feed].name): \(label): rejected frame: \(error)", now: Clock.monotonicNanos()) {
            log(line)
        }
    }

    /// Whether the slot's socket is a listener's or a rewinder's, closed with its `Socket`.
    private func ownsSeparately(_ slot: Slot) -> Bool {
        listeners[slot.feed]?.fd == slot.fd || rewinders[slot.feed]?.fd == slot.fd
    }

    /// UDP sockets: datagrams the kernel dropped for want of buffer space (SO_MEMINFO).
    private func sampleKernelDrops() {
        for s in slots.indices {
            guard case .datagrams = slots[s].state else { continue }
            var info = [UInt32](repeating: 0, count: 16)
            var length = socklen_t(info.count * 4)
            if getsockopt(slots[s].fd, SOL_SOCKET, SO_MEMINFO, &info, &length) == 0 {
                counters[slots[s].feed].kernelDrops.store(UInt64(info[8]), ordering: .relaxed)  // SK_MEMINFO_DROPS
            }
        }
    }

    private func shutDown() {
        sampleKernelDrops()
        for s in slots.indices where slots[s].fd >= 0 {
            slots[s].decoder?.finish(counters: counters[slots[s].feed]) { rejected($0, feed: slots[s].feed, slot: s) }
        }
        batcher.flush()
        engine = nil  // io_uring_queue_exit cancels whatever is still armed
        for s in slots.indices where slots[s].fd >= 0 && !ownsSeparately(slots[s]) {
            Glibc.close(slots[s].fd)
            slots[s].fd = -1
        }
        listeners = listeners.map { _ in nil }
        rewinders = rewinders.map { _ in nil }
        finished.store(true, ordering: .releasing)
        doorbell.ring()
    }

    static func seconds(_ nanos: Int64) -> String {
        nanos < 1_000_000_000 ? "\(nanos / 1_000_000) ms" : "\(Double(nanos / 1_000_000) / 1000) s"
    }
}
