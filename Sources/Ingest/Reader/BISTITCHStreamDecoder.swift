import Atomics
import Glibc

/// What an exchange feed's receiver and books have seen, for metrics. Written by the reader
/// thread after each datagram, read by any.
public final class ExchangeFeedCounters: Sendable {
    public let packets = ManagedAtomic<UInt64>(0)
    public let heartbeats = ManagedAtomic<UInt64>(0)
    public let messages = ManagedAtomic<UInt64>(0)
    public let gaps = ManagedAtomic<UInt64>(0)
    public let duplicates = ManagedAtomic<UInt64>(0)
    public let recoveryRequests = ManagedAtomic<UInt64>(0)
    public let recoveredMessages = ManagedAtomic<UInt64>(0)
    public let lostMessages = ManagedAtomic<UInt64>(0)
    public let requestsLeft = ManagedAtomic<UInt64>(0)
    public let sessions = ManagedAtomic<UInt64>(0)
    public let staleInstruments = ManagedAtomic<UInt64>(0)
    /// Order messages the books could not take (an unknown order, more shares than rest).
    public let bookRejects = ManagedAtomic<UInt64>(0)

    public init() {}

    func publish(_ r: MoldUDP64Receiver, _ b: BISTOrderBooks) {
        packets.store(r.stats.packets, ordering: .relaxed)
        heartbeats.store(r.stats.heartbeats, ordering: .relaxed)
        messages.store(r.stats.delivered, ordering: .relaxed)
        gaps.store(r.stats.gaps, ordering: .relaxed)
        duplicates.store(r.stats.duplicates, ordering: .relaxed)
        recoveryRequests.store(r.stats.requests, ordering: .relaxed)
        recoveredMessages.store(r.stats.recovered, ordering: .relaxed)
        lostMessages.store(r.stats.lost, ordering: .relaxed)
        requestsLeft.store(UInt64(r.requestsLeft), ordering: .relaxed)
        sessions.store(r.stats.sessions, ordering: .relaxed)
        staleInstruments.store(UInt64(b.staleCount), ordering: .relaxed)
        bookRejects.store(b.stats.bookRejects, ordering: .relaxed)
    }
}

/// A `bist-itch` feed on the reader thread: MoldUDP64 packets from the multicast group (and the
/// rewinder's answers, through the same decoder) go through the receiver, which delivers messages
/// in order; each is decoded and applied to the books, whose ticks go to the pipeline. Gaps are
/// asked of the rewinder from its budget; lost messages and a silent feed make the books stale,
/// logged and announced to the fan-out's clients.
final class BISTITCHStreamDecoder: StreamDecoder {
    private var receiver: MoldUDP64Receiver
    private var books: BISTOrderBooks
    /// A session ended during the last call into the receiver (logged once the call is over).
    private var endedSession: MoldUDP64Packet.Session?
    private let feed: FeedEndpoint
    private let exchange: ExchangeFeedCounters
    private let log: (String) -> Void
    private let announce: (FeedNotice) -> Void
    /// The connected socket to the rewinder, or -1.
    var rewinderFD: Int32 = -1
    private var lastPacket: Int64
    /// Ticks are numbered per feed, on from the stored checkpoint: one message makes zero, one or
    /// two ticks, so the exchange's message numbers cannot serve.
    private var nextSequence: UInt64
    private var silent = false
    private var stale = false
    /// Messages of this session were given up: its books stay stale until the next session. (A
    /// silence alone ends when packets come again with nothing missing.)
    private var lostMessages = false
    private var requestErrors = LogRateLimiter()
    private let depth: DepthBoard?
    private var nextDepth: Int64 = 0
    /// How many of `books.outsideNames` were logged, and since when more wait (they are logged
    /// half a second after the first: the directory comes in many packets at the start of the day).
    private var outsideLogged = 0
    /// How many of `books.joinedNames` were logged.
    private var joinedLogged = 0
    private var outsideSince: Int64?

    private let directory: ExchangeDirectory?

    init(feed: FeedEndpoint, context: DecodeContext, checkpoint: UInt64?, exchange: ExchangeFeedCounters, depth: DepthBoard?,
         directory: ExchangeDirectory?, joining: SymbolUniverse?, log: @escaping (String) -> Void, announce: @escaping (FeedNotice) -> Void) {
        self.directory = directory
        self.depth = feed.exchange.depthLevels > 0 ? depth : nil
        nextSequence = (checkpoint ?? 0) + 1
        self.feed = feed
        self.exchange = exchange
        self.log = log
        self.announce = announce
        receiver = MoldUDP64Receiver(budget: feed.exchange.recovery, canRequest: feed.exchange.rewinder != nil)
        books = BISTOrderBooks(symbols: context.symbols, joining: joining, feed: context.feed, secondsBase: feed.exchange.secondsBase)
        lastPacket = Clock.monotonicNanos()
    }

    override func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64, into sink: TickBatcher, counters: FeedCounters,
                         onError: (FrameError) -> Void) -> UInt64 {
        var ticks: UInt64 = 0
        let now = Clock.monotonicNanos()
        lastPacket = now
        if silent {
            silent = false
            log("feed \(feed.name): packets again after a silence")
        }
        let damage = receiver.receive(bytes, now: now, act: { act($0) }) { _, message in
            apply(message, receiveTime: receiveTime, sink: sink, counters: counters, onError: onError, ticks: &ticks)
        }
        if let damage {
            counters.countRejected(damage.kind)
            onError(damage)
        }
        if stale && !lostMessages && receiver.missing == 0 { fresh(receiveTime: receiveTime, sink: sink, ticks: &ticks) }
        afterwards(now)
        return ticks
    }

    /// What follows every call into the receiver (a datagram, or a turn of the reader's loop).
    private func afterwards(_ now: Int64) {
        if endedSession != nil { logEnd() }
        if depth != nil && now >= nextDepth { publishDepth(now) }
        noteOutside(now)
        postDirectory()
        exchange.publish(receiver, books)
    }

    /// After a silence, packets came again and nothing is missing: the books are whole.
    private func fresh(receiveTime: Int64, sink: TickBatcher, ticks: inout UInt64) {
        books.markAllFresh(receiveTime: receiveTime) { hand($0, to: sink, ticks: &ticks) }
        stale = false
        log("feed \(feed.name): packets again with nothing missing; its books are whole")
        announce(FeedNotice(feed: feed.name, status: .fresh, at: Clock.wallNanos(), symbols: [], reason: "packets again with nothing missing"))
    }

    private func postDirectory() {
        guard let directory, books.hasDirectoryChanges else { return }
        let feedName = feed.name
        books.takeDirectoryChanges { i in
            directory.post(ExchangeInstrument(feed: feedName, orderBook: i.orderBook, symbol: i.name.text, isin: i.isin.text, priceDecimals: i.priceDecimals,
                                              roundLot: i.roundLot, tickSizes: i.tickSizes))
        }
    }

    private func noteOutside(_ now: Int64) {
        guard books.outsideNames.count != outsideLogged || books.joinedNames.count != joinedLogged else { return }
        if outsideSince == nil { outsideSince = now }
        if now - outsideSince! >= 500_000_000 { logOutside() }
    }

    /// Instruments the feed announced that joined the universe, and those that stay outside it:
    /// their books are kept, they make no ticks.
    private func logOutside() {
        outsideSince = nil
        // Joined names are valid symbols; others are the feed's text, quoted and escaped.
        func shown(_ names: ArraySlice<String>, _ text: (String) -> String) -> String {
            names.prefix(10).map(text).joined(separator: ", ") + (names.count > 10 ? " and \(names.count - 10) more" : "")
        }
        let joined = books.joinedNames[joinedLogged...]
        joinedLogged = books.joinedNames.count
        if !joined.isEmpty {
            log("feed \(feed.name): \(joined.count) instruments the exchange announced join the symbols (symbols_from_exchange): \(shown(joined) { $0 })")
        }
        let new = books.outsideNames[outsideLogged...]
        outsideLogged = books.outsideNames.count
        guard !new.isEmpty else { return }
        let why = books.joining.map { "that cannot join the symbols (not a symbol name, or \($0.limit) symbols reached)" } ?? "not in [market] symbols"
        log("feed \(feed.name): \(new.count) instruments \(why) (books kept, no ticks): \(shown(new) { Sanitized($0).description }); \(books.stats.outsideUniverse) this session")
    }

    private func publishDepth(_ now: Int64) {
        nextDepth = now + feed.exchange.depthIntervalNanos
        guard let depth else { return }
        books.takeChanged(levels: feed.exchange.depthLevels) { depth.publish($0) }
    }

    @inline(__always)
    private func apply(_ message: UnsafeRawBufferPointer, receiveTime: Int64, sink: TickBatcher, counters: FeedCounters,
                       onError: (FrameError) -> Void, ticks: inout UInt64) {
        if let error = books.apply(message, receiveTime: receiveTime, emit: { hand($0, to: sink, ticks: &ticks) }) {
            counters.countRejected(error.kind)
            onError(error)
        }
    }

    /// Numbers a tick of the books and hands it to the pipeline's batch.
    @inline(__always)
    private func hand(_ tick: Tick, to sink: TickBatcher, ticks: inout UInt64) {
        var tick = tick
        tick.sequence = nextSequence
        nextSequence += 1
        sink.append(tick)
        ticks += 1
    }

    /// Datagrams carry whole packets; messages held after a gap are kept on purpose.
    override func finish(counters: FeedCounters, onError: (FrameError) -> Void) {}

    override func idle(now: Int64, into sink: TickBatcher, counters: FeedCounters, onError: (FrameError) -> Void) -> UInt64 {
        var ticks: UInt64 = 0
        let wall = Clock.wallNanos()
        receiver.idle(now: now, act: { act($0) }) { _, message in
            apply(message, receiveTime: wall, sink: sink, counters: counters, onError: onError, ticks: &ticks)
        }
        if !silent && receiver.session != nil && !receiver.ended && now - lastPacket > feed.exchange.staleAfterNanos {
            silent = true
            let reason = "no packet, not even a heartbeat, for \(FeedReader.seconds(now - lastPacket))"
            log("feed \(feed.name): \(reason)")
            markStale(reason: reason)
        }
        afterwards(now)
        return ticks
    }

    /// Runs inside a call into the receiver: it must not touch `receiver`.
    private func act(_ action: MoldUDP64Receiver.Action) {
        switch action {
        case .request(let session, let sequence, let count):
            let request = MoldUDP64Packet.request(session: session, sequence: sequence, count: count)
            let sent = request.withUnsafeBytes { Glibc.send(rewinderFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // A request that could not be sent is as good as unanswered: the timeout asks again.
            if sent < 0, let line = requestErrors.line("feed \(feed.name): cannot send a retransmission request: \(SystemError.message(errno))",
                                                        now: Clock.monotonicNanos()) {
                log(line)
            }
        case .lost(let from, let count, let reason):
            let text = "\(count) messages from \(from) lost (\(reason.rawValue))"
            log("feed \(feed.name): \(text); its books are stale until the next session")
            lostMessages = true
            markStale(reason: text)
        case .sessionStarted(let session):
            let wasStale = stale
            books.startSession(now: Clock.wallNanos())
            stale = false
            lostMessages = false
            outsideLogged = 0
            outsideSince = nil
            log("feed \(feed.name): session \(session) started")
            if wasStale {
                announce(FeedNotice(feed: feed.name, status: .fresh, at: Clock.wallNanos(), symbols: [], reason: "session \(session) started"))
            }
        case .sessionEnded(let session):
            endedSession = session
        }
    }

    private func logEnd() {
        guard let session = endedSession else { return }
        endedSession = nil
        log("feed \(feed.name): session \(session) ended after \(receiver.next - 1) messages "
            + "(\(receiver.stats.recovered) recovered, \(receiver.stats.lost) lost, \(receiver.requestsLeft) requests left)")
    }

    private func markStale(reason: String) {
        books.markAllStale()
        stale = true
        let names = books.staleNames
        announce(FeedNotice(feed: feed.name, status: .stale, at: Clock.wallNanos(), symbols: names, reason: reason))
    }
}
