import Atomics
import Foundation
import Glibc
import Ingest
import Kafka
import Store

/// The market lane to Kafka: every tick to `market-events` keyed by symbol (`MarketLaneMessage`),
/// from a consumer lane of its own on its own thread. (Closed candles go through the event store
/// and the relay: `CandleClosedProducer`.)
///
/// Kafka can never slow ingest: the lane's ring drops when full (the pipeline never waits for
/// it), and a full producer queue or a failed delivery does not stop anything either. Instead the
/// lane notes what it missed and **catches up from the store**: it reads the stored ticks of each
/// feed after the last one it delivered, in sequence order, until it has reached the newest tick
/// it has seen in its ring, then goes live again. The same happens after a restart, from the
/// positions it keeps in `kafka_market_positions` (per feed: the highest sequence number up to
/// which the brokers acknowledged everything). So every stored tick of a numbered feed reaches
/// Kafka at least once; a tick sent twice has the same `eventId`.
///
/// Not resumed: ticks of feeds that do not number their messages.
/// Sendable for its counters and to be handed to its thread: the rest is touched only there.
public final class KafkaMarketLane: TickConsumer, @unchecked Sendable {
    public static let topic = Topic.market.rawValue

    public struct Options: Sendable {
        public var deliveryTimeoutNanos: Int64 = 30_000_000_000
        /// Ticks read from the store per catch-up query. Each query scans the day's partition
        /// (no index covers feed and sequence), so they are few and large.
        public var catchUpBatch = 100_000
        /// How often positions are written (and how long a caught-up lane waits for the store).
        public var positionIntervalNanos: Int64 = 1_000_000_000
        /// `linger.ms` and `compression.codec` of the lane's producer (`[kafka]`).
        public var lingerNanos: Int64 = 100_000_000
        public var compression = KafkaSettings.Compression.lz4
        public init() {}
    }

    // Counters, read by the metrics.
    /// Ticks the brokers acknowledged.
    public let delivered = ManagedAtomic<UInt64>(0)
    /// Ticks sent from the store while catching up.
    public let caughtUp = ManagedAtomic<UInt64>(0)
    /// Times the lane fell behind (ring full, producer queue full, a failed delivery).
    public let fellBehind = ManagedAtomic<UInt64>(0)
    /// Messages librdkafka reported failed (sent again by the catch-up when they were ticks).
    public let failed = ManagedAtomic<UInt64>(0)
    /// 1 while catching up from the store.
    public let catchingUp = ManagedAtomic<Bool>(false)

    private let lane: ConsumerLane
    private let symbols: SymbolUniverse
    private let feedNames: [UInt16: String]
    /// Each symbol as a message key and as a JSON string, each feed's name as one, made once.
    /// Per symbol id: the message key and the name as JSON.
    private var names: SymbolNames<(key: [UInt8], quoted: MarketLaneMessage.Quoted)>
    private let quotedFeeds: [UInt16: MarketLaneMessage.Quoted]
    private let conninfo: String
    private let options: Options
    private let log: @Sendable (String) -> Void
    private var producer: KafkaProducer!
    private var database: LibpqConnection?
    private var limiter = LogRateLimiter(limit: 3, windowNanos: 60_000_000_000)

    /// Per feed: the highest sequence number handed to the producer, and its exchange time.
    private var sent: [UInt16: (seq: UInt64, time: Int64)] = [:]
    /// Per feed, while catching up: the newest sequence number seen in the ring (or stored at start).
    private var target: [UInt16: UInt64] = [:]
    /// Until the positions are read (the database may be late), the lane is behind.
    private var behind = true
    private var loaded = false
    private let checkpoints: [UInt16: UInt64]?
    /// Per feed, before the positions are read: the first tick seen, where a feed without a
    /// position starts.
    private var firstSeen: [UInt16: (seq: UInt64, time: Int64)] = [:]
    private var droppedSeen: UInt64 = 0
    /// Messages in flight, by token: each tick's feed and sequence.
    private var inflight = InflightWindow()
    /// Per feed: everything up to here acknowledged; written to the database every interval.
    private var acknowledged: [UInt16: (seq: UInt64, time: Int64)] = [:]
    private var written: [UInt16: UInt64] = [:]
    /// Per feed, after a failed delivery: acknowledgements of earlier tokens no longer move the position.
    private var frozenBefore: [UInt16: UInt64] = [:]
    /// A catch-up that read fewer ticks than it asked for waits for the writer until then.
    private var nextCatchUp: Int64 = 0
    private let storeIsBehind: @Sendable () -> Bool
    /// Catch-up reads put off because the writer had a backlog (for the metrics).
    public let catchUpsDeferred = ManagedAtomic<UInt64>(0)
    private var nextWrite: Int64 = 0
    private var buffer: [UInt8] = []

    /// - Parameters:
    ///   - conninfo: the store's database: positions, and the ticks to catch up from.
    ///   - startingAt: the highest stored sequence per feed when this run began (the writer's
    ///     checkpoints), where a feed the lane has no position for starts; nil when they could
    ///     not be read (the database was down).
    ///   - storing: the highest sequence per feed this run will have stored before its first new
    ///     tick: the stored checkpoints with the batches an earlier run left in the spool. The
    ///     lane catches up to it.
    ///   - storeIsBehind: whether the writer has a backlog; no catch-up read starts while it has
    ///     (the reads scan what the writer is writing to). Called on the lane's thread, which runs
    ///     under `SCHED_IDLE`: it must take no lock another thread takes.
    public init(brokers: [String], lane: ConsumerLane, symbols: SymbolUniverse, feedNames: [UInt16: String],
                conninfo: String, startingAt checkpoints: [UInt16: UInt64]?, storing: [UInt16: UInt64], options: Options = Options(),
                storeIsBehind: @escaping @Sendable () -> Bool = { false }, log: @escaping @Sendable (String) -> Void) throws {
        self.lane = lane
        self.storeIsBehind = storeIsBehind
        self.symbols = symbols
        self.feedNames = feedNames
        names = SymbolNames(symbols) { (Array($0.utf8), MarketLaneMessage.Quoted($0)) }
        quotedFeeds = feedNames.mapValues(MarketLaneMessage.Quoted.init)
        self.conninfo = conninfo
        self.options = options
        self.log = log
        buffer.reserveCapacity(512)
        let reports = Reports()
        // librdkafka's threads start in rd_kafka_new and inherit the scheduling policy of the
        // thread that calls it: made on a thread of the lane's, they yield to ingest as the lane does.
        producer = try Self.atLanePriority {
            try KafkaProducer(brokers: brokers.joined(separator: ","), topics: [Self.topic],
                              properties: [("message.timeout.ms", "\(max(1, options.deliveryTimeoutNanos / 1_000_000))"),
                                           ("queue.buffering.max.messages", "\(InflightWindow.capacity)"),
                                           ("linger.ms", "\(options.lingerNanos / 1_000_000)"),
                                           ("compression.codec", options.compression.rawValue)],
                              log: log) { token, error in reports.append(token, error) }
        }
        self.reports = reports
        self.checkpoints = checkpoints
        target = storing
        catchingUp.store(true, ordering: .relaxed)
        droppedSeen = lane.dropped.load(ordering: .relaxed)
    }

    private let reports: Reports

    public var idleIntervalNanos: Int64 { behind ? 20_000_000 : 50_000_000 }
    /// Messages wait a little in the ring: librdkafka batches them anyway (`linger.ms`).
    public var toleratedDelayNanos: Int64 { 2_000_000 }

    private var lowered = false

    /// Puts the calling thread under `SCHED_IDLE`: it runs only on CPU time nothing else wants,
    /// and yields at once when another thread wakes, so Kafka gets the CPU that ingest leaves and
    /// no more. (At niceness 10 the lane and librdkafka's threads took a quarter of a core from
    /// the writer at 170,000 ticks/s.) The lane shares no lock with the hot path (the ring is
    /// lock-free; its log lines are few and rate-limited), so nothing waits behind it. Pid 0 is
    /// the calling thread alone on Linux (sched(7)).
    static func lowerPriority() {
        var none = sched_param()
        // SCHED_IDLE (sched.h; Glibc shows it to C only under _GNU_SOURCE).
        sched_setscheduler(0, 5, &none)
    }

    public func consume(_ ticks: UnsafeBufferPointer<Tick>) {
        if !lowered { lowerOnce() }
        let dropped = lane.dropped.load(ordering: .acquiring)
        if dropped != droppedSeen {
            droppedSeen = dropped
            fallBehind("its ring was full")
        }
        for t in ticks {
            if behind {
                if t.sequence > 0 {
                    target[t.feed] = max(target[t.feed] ?? 0, t.sequence)
                    if !loaded && t.sequence < firstSeen[t.feed]?.seq ?? .max { firstSeen[t.feed] = (t.sequence, t.exchangeTime / 1_000 * 1_000) }
                }
                continue
            }
            if !send(t) {
                fallBehind("the producer's queue was full")
                if t.sequence > 0 { target[t.feed] = max(target[t.feed] ?? 0, t.sequence) }
            }
        }
        serve()
    }

    public func idle(now: Int64) {
        if !lowered { lowerOnce() }
        serve()
        if behind && now >= nextCatchUp {
            // Ingest comes first: while the writer has a backlog the catch-up waits, whatever share
            // of the time its reads would take (a scan of the partition the writer is filling).
            if storeIsBehind() {
                catchUpsDeferred.wrappingIncrement(ordering: .relaxed)
            } else {
                catchUp(now: now)
            }
        }
        if now >= nextWrite {
            nextWrite = now + options.positionIntervalNanos
            writePositions()
        }
    }

    public func finish() {
        serve()
        _ = producer.flush(timeoutMilliseconds: 5_000)
        serve()
        writePositions()
        producer = nil
    }

    /// Delivery reports; called often.
    private func serve() {
        producer.poll()
        for (token, error) in reports.take() {
            guard let entry = inflight.settle(token, ok: error == nil) else { continue }
            if let error {
                failed.wrappingIncrement(ordering: .relaxed)
                if entry.seq > 0 {
                    // The feed's position stays below the failed tick, whatever else of the
                    // feed arrives, until the catch-up has sent it again.
                    if entry.seq - 1 < (acknowledged[entry.feed]?.seq ?? .max) { acknowledged[entry.feed] = (entry.seq - 1, entry.time) }
                    frozenBefore[entry.feed] = inflight.nextToken
                    fallBehind("a delivery failed: \(error)")
                }
            } else {
                delivered.wrappingIncrement(ordering: .relaxed)
            }
        }
        for (token, settled) in inflight.popAcknowledged() where settled.seq > 0 {
            if token < frozenBefore[settled.feed] ?? 0 { continue }
            if settled.seq > (acknowledged[settled.feed]?.seq ?? 0) { acknowledged[settled.feed] = (settled.seq, settled.time) }
        }
    }

    /// Hands one live tick to the producer; false when its queue is full.
    private func send(_ t: Tick) -> Bool {
        let name = names.value(of: t.symbol)
        let time = UTCTime.floor(t.exchangeTime, toMultipleOf: 1_000)  // as stored
        MarketLaneMessage.tick(t, symbol: name.quoted, source: quotedFeeds[t.feed] ?? MarketLaneMessage.Quoted("feed \(t.feed)"), into: &buffer)
        guard produce(key: name.key, feed: t.feed, seq: t.sequence, time: time) else { return false }
        // A feed's first tick this lane sees: its position starts just before it.
        if acknowledged[t.feed] == nil && t.sequence > 0 { acknowledged[t.feed] = (t.sequence - 1, time) }
        if t.sequence > (sent[t.feed]?.seq ?? 0) { sent[t.feed] = (t.sequence, time) }
        return true
    }

    private func produce(key: [UInt8], feed: UInt16, seq: UInt64, time: Int64) -> Bool {
        guard inflight.hasRoom else { return false }
        let token = inflight.nextToken
        let queued: KafkaProducer.Queued
        do {
            queued = try key.withUnsafeBytes { k in try buffer.withUnsafeBytes { v in try producer.produce(topic: Self.topic, key: k, value: v, token: token) } }
        } catch {
            say("kafka: the market lane cannot produce: \(error)")
            return false
        }
        guard queued == .queued else { return false }
        inflight.push(feed: feed, seq: seq, time: time)
        return true
    }

    private func fallBehind(_ why: String) {
        if !behind {
            fellBehind.wrappingIncrement(ordering: .relaxed)
            say("kafka: the market lane fell behind (\(why)); it catches up from the stored ticks")
        }
        behind = true
        catchingUp.store(true, ordering: .relaxed)
        // From what the brokers have: what is in flight may be lost.
        for (feed, ack) in acknowledged where ack.seq < (sent[feed]?.seq ?? 0) {
            target[feed] = max(target[feed] ?? 0, sent[feed]!.seq)
            sent[feed] = ack
        }
    }

    /// An exchange time the lane does not know (a position taken from the store's checkpoint).
    static let unknownTime = Int64.min

    /// Reads where the last run stopped; what it stored after that comes from the store first.
    /// A feed without a position starts where the store stood when this run began (the
    /// checkpoints read at start), or, when they could not be read, at the first tick seen; that
    /// start is written at once, so that a crash before the first acknowledgement loses nothing.
    private func loadPositions() throws {
        let db = try connection()
        for row in try db.execute("""
            SELECT feed, seq, (EXTRACT(EPOCH FROM exchange_time) * 1000000)::bigint FROM kafka_market_positions
            """).rows {
            guard let feed = UInt16(row[0] ?? ""), let seq = UInt64(row[1] ?? "") else { continue }
            let time = Int64(row[2] ?? "").map { $0 * 1_000 } ?? Self.unknownTime
            sent[feed] = (seq, time)
            acknowledged[feed] = (seq, time)
            written[feed] = seq
        }
        for feed in feedNames.keys where sent[feed] == nil {
            if let checkpoints {
                sent[feed] = (checkpoints[feed] ?? 0, Self.unknownTime)
            } else if let first = firstSeen[feed] {
                sent[feed] = (first.seq - 1, first.time)
            } else {
                continue  // its first live tick sets it
            }
            acknowledged[feed] = sent[feed]
        }
        try storePositions()
        for row in try db.execute("SELECT feed, highest_seq FROM ingest_checkpoints").rows {
            guard let feed = UInt16(row[0] ?? ""), let seq = UInt64(row[1] ?? "") else { continue }
            target[feed] = max(target[feed] ?? 0, seq)
        }
        // A feed that has neither a position nor a tick yet (nothing to catch up from).
        for feed in target.keys where sent[feed] == nil { target[feed] = nil }
        loaded = true
        let behindFeeds = target.filter { $0.value > sent[$0.key]?.seq ?? 0 }
        if !behindFeeds.isEmpty {
            log("kafka: the market lane catches up from the store: " + behindFeeds.sorted { $0.key < $1.key }
                .map { "feed \($0.key) after \(sent[$0.key]?.seq ?? 0) up to \($0.value)" }.joined(separator: ", "))
        }
    }

    /// One step of the catch-up: a batch of stored ticks for each feed still behind its target.
    private func catchUp(now: Int64) {
        if !loaded {
            do { try loadPositions() } catch {
                database = nil
                nextCatchUp = now + options.positionIntervalNanos
                say("kafka: the market lane cannot read its positions yet (\(error)); it tries again")
                return
            }
        }
        raiseTargetsToTheDrops()
        for (feed, goal) in target.sorted(by: { $0.key < $1.key }) {
            let from = sent[feed] ?? (0, Self.unknownTime)
            if from.seq >= goal {
                target[feed] = nil
                continue
            }
            // Exchange times bound the scan to the partitions that can hold the ticks (there is no
            // index by sequence number); late ticks are rarely more than minutes late.
            let since = from.time == Self.unknownTime ? "-infinity" : UTCTime.formatISO8601(from.time - 3_600_000_000_000)
            let rows: [[String?]]
            let queried = Clock.monotonicNanos()
            do {
                rows = try connection().execute("""
                    SELECT symbol, price, volume, bid, ask, seq, kind, side, (EXTRACT(EPOCH FROM time) * 1000000)::bigint
                    FROM market_ticks WHERE feed = $1 AND seq > $2 AND seq <= $3 AND time >= $4::timestamptz
                    ORDER BY seq LIMIT \(options.catchUpBatch)
                    """, parameters: ["\(feed)", "\(from.seq)", "\(goal)", since]).rows
            } catch {
                database = nil
                say("kafka: the market lane cannot read the stored ticks (\(error)); it tries again")
                return
            }
            // The store is busy with ingest, which comes first: the catch-up's queries take at
            // most a tenth of the time, so the lane catches up at full speed only once ingest is quiet.
            let took = Clock.monotonicNanos() - queried
            nextCatchUp = max(nextCatchUp, Clock.monotonicNanos() + 9 * took)
            for row in rows {
                guard let symbol = row[0], let id = symbols.id(for: symbol), let price = Int64(row[1] ?? ""), let volume = Int64(row[2] ?? ""),
                      let seq = UInt64(row[5] ?? ""), let kind = UInt8(row[6] ?? "").flatMap(TickKind.init(rawValue:)),
                      let side = UInt8(row[7] ?? "").flatMap(TradeSide.init(rawValue:)), let micros = Int64(row[8] ?? "") else { continue }
                let tick = Tick(symbol: id, kind: kind, side: side, price: Price(units: price), quantity: volume,
                                bid: Price(units: Int64(row[3] ?? "") ?? 0), ask: Price(units: Int64(row[4] ?? "") ?? 0),
                                exchangeTime: micros * 1_000, sequence: seq, feed: feed)
                while !send(tick) {
                    // The catch-up may wait for the producer: the ring meanwhile drops, which it
                    // is allowed to, and the targets cover what it drops. Not past a stop: the
                    // next run catches up from the positions.
                    if lane.closed.load(ordering: .acquiring) { return }
                    producer.poll(timeoutMilliseconds: 100)
                    serve()
                    absorbRing()
                }
                caughtUp.wrappingIncrement(ordering: .relaxed)
            }
            // Fewer than asked: the writer has not stored the rest yet (it comes within its flush
            // interval), or the feed skipped numbers up to the goal.
            if rows.count < options.catchUpBatch { nextCatchUp = max(nextCatchUp, now + options.positionIntervalNanos / 4) }
            if rows.count < options.catchUpBatch, let last = rows.last.flatMap({ UInt64($0[5] ?? "") }), last >= goal { target[feed] = nil }
            if rows.isEmpty, storedThrough(feed) >= goal { target[feed] = nil; sent[feed] = (goal, sent[feed]?.time ?? from.time) }
        }
        if target.isEmpty {
            behind = false
            catchingUp.store(false, ordering: .relaxed)
            say("kafka: the market lane caught up; live again")
        }
    }

    /// Takes the ring's ticks without sending them (they are behind the catch-up): only their
    /// sequence numbers, as targets.
    private func absorbRing() {
        _ = lane.ring.drain(maximum: 4096) { ticks in
            for t in ticks where t.sequence > 0 { target[t.feed] = max(target[t.feed] ?? 0, t.sequence) }
        }
        // Drops during the catch-up are part of it, not a new fall behind: counted as seen here,
        // so they must be in the targets too (else the lane goes live without them). The count
        // first: a drop after it is seen by `consume` and makes the lane fall behind again.
        droppedSeen = lane.dropped.load(ordering: .acquiring)
        raiseTargetsToTheDrops()
    }

    /// What the ring dropped is stored (the store lane took it first) and must be reached too.
    private func raiseTargetsToTheDrops() {
        guard let watermark = lane.dropWatermark else { return }
        for feed in feedNames.keys where sent[feed] != nil {
            let dropped = watermark.highest(of: feed)
            if dropped > (sent[feed]?.seq ?? 0) { target[feed] = max(target[feed] ?? 0, dropped) }
        }
    }

    /// The writer's checkpoint for `feed`: everything up to it is stored (or was skipped by the feed).
    private func storedThrough(_ feed: UInt16) -> UInt64 {
        let rows = try? connection().execute("SELECT highest_seq FROM ingest_checkpoints WHERE feed = $1", parameters: ["\(feed)"]).rows
        return rows?.first.flatMap { UInt64($0[0] ?? "") } ?? 0
    }

    private func writePositions() {
        do { try storePositions() } catch {
            database = nil
            say("kafka: the market lane cannot write its positions (\(error)); it tries again")
        }
    }

    private func storePositions() throws {
        let changed = acknowledged.filter { written[$0.key] != $0.value.seq }
        guard !changed.isEmpty else { return }
        let db = try connection()
        for (feed, position) in changed {
            _ = try db.execute("""
                INSERT INTO kafka_market_positions (feed, seq, exchange_time)
                VALUES ($1, $2, TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond')
                ON CONFLICT (feed) DO UPDATE SET seq = excluded.seq, exchange_time = excluded.exchange_time, updated_at = now()
                """, parameters: ["\(feed)", "\(position.seq)", position.time == Self.unknownTime ? nil : "\(position.time / 1_000)"])
            written[feed] = position.seq
        }
    }

    private func connection() throws -> LibpqConnection {
        if let database { return database }
        let c = try LibpqConnection(conninfo: conninfo)
        // The catch-up is a background trickle: one backend, never parallel workers that would
        // take every core from the writer's COPY (seen: two workers per catch-up query).
        _ = try c.execute("SET max_parallel_workers_per_gather = 0")
        database = c
        return c
    }

    private func lowerOnce() {
        lowered = true
        Self.lowerPriority()
    }

    /// Runs `body` on a thread of its own at the lane's priority, and returns what it made.
    private static func atLanePriority<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try CooperativePool.refuseBlocking("starting the Kafka market lane")
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            lowerPriority()
            box.result = Result { try body() }
            done.signal()
        }
        thread.start()
        done.wait()
        return try box.result!.get()
    }

    private func say(_ line: String) {
        if let admitted = limiter.line(line, now: Clock.monotonicNanos()) { log(admitted) }
    }

    /// Delivery reports, as librdkafka hands them to `poll` on the lane's thread.
    private final class Reports: @unchecked Sendable {
        private var pending: [(UInt64, KafkaError?)] = []
        func append(_ token: UInt64, _ error: KafkaError?) { pending.append((token, error)) }
        func take() -> [(UInt64, KafkaError?)] {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}

/// What a helper thread made, handed back to the thread that waits for it.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// The market lane's messages in flight, in the order they were produced: a fixed window of
/// tokens, so that the acknowledged prefix (what a position may claim) is found without a search.
struct InflightWindow {
    static let capacity = 1 << 18

    struct Entry {
        var feed: UInt16
        var seq: UInt64
        var time: Int64
        var settled: Bool
        var ok: Bool
    }

    private var entries = [Entry](repeating: Entry(feed: 0, seq: 0, time: 0, settled: false, ok: false), count: capacity)
    /// The oldest unsettled token, and the next one to hand out.
    private var head: UInt64 = 0
    private(set) var nextToken: UInt64 = 0

    var hasRoom: Bool { nextToken - head < UInt64(Self.capacity) }

    mutating func push(feed: UInt16, seq: UInt64, time: Int64) {
        entries[Int(nextToken % UInt64(Self.capacity))] = Entry(feed: feed, seq: seq, time: time, settled: false, ok: false)
        nextToken += 1
    }

    /// Marks `token` settled; returns its entry (nil for a token outside the window).
    mutating func settle(_ token: UInt64, ok: Bool) -> Entry? {
        guard token >= head && token < nextToken else { return nil }
        let i = Int(token % UInt64(Self.capacity))
        entries[i].settled = true
        entries[i].ok = ok
        return entries[i]
    }

    /// Removes the settled prefix; returns its successful entries with their tokens, oldest first.
    mutating func popAcknowledged() -> [(token: UInt64, entry: Entry)] {
        var out: [(UInt64, Entry)] = []
        while head < nextToken {
            let e = entries[Int(head % UInt64(Self.capacity))]
            guard e.settled else { break }
            if e.ok { out.append((head, e)) }
            head += 1
        }
        return out
    }
}
