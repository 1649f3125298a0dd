import Aggregator
import Atomics
import Dispatch
import Ingest

/// The store writer: the consumer at the end of the pipeline's store lane.
///
/// Its consumer thread encodes ticks into a binary COPY stream as they arrive and cuts a batch
/// every flush interval (100 ms by default) or as soon as it holds `maximumBatchTicks`. Each batch
/// gets the next number and goes to the committer (a thread of its own, `BatchCommitter`), which
/// stores it in one transaction with the feed checkpoints and the batch number: a batch whose
/// outcome is unknown (the connection broke during COMMIT) is looked up by number before it is
/// retried, so each tick is stored exactly once.
///
/// Up to `memoryBatches` batches wait in memory. When PostgreSQL is down or slower than the feed,
/// the batches in memory and every new one go to the spool (`TickSpool`) instead of holding up the
/// pipeline, as does everything in memory after a failed attempt: whenever the spool is in use,
/// every uncommitted batch is on disk, so a crash loses only the newest ticks (those not yet cut
/// into a batch), never a batch older than one that survives. Batches are always committed lowest number first: the spool drains in order, then live
/// batches continue. At startup the committer first drains what an earlier run left in the spool.
/// When the spool is full (or failing), the writer raises `spoolAlarm`, logs it, and holds the
/// store lane until there is room: the pipeline then waits (backpressure), nothing is dropped here.
///
/// `finish()` stores everything; if PostgreSQL is unreachable at that point, what is left stays in
/// the spool for the next start.
///
/// **Started without its database.** When the schema is not known to be up to date yet (the
/// `SchemaGate` is closed: the database was down when the daemon started) or PostgreSQL cannot be
/// reached, the writer starts anyway: every batch goes to the spool, numbered from the wall clock
/// in microseconds (above any number an earlier run issued, unless the clock went back by more
/// than the time since), and nothing waits in memory. Once the gate opens and PostgreSQL answers,
/// the committer reads where storage stands and drains the spool. The pipeline could not resume
/// from the stored checkpoints in such a run, so ticks at or below their feed's stored checkpoint
/// (an earlier run stored them) are dropped there, counted in `alreadyStored`.
///
/// **Candles.** The aggregator's candle updates arrive through a `CandleOutlet` and ride with the
/// first batch that holds all the ticks sent before them, so a candle is committed with its trades
/// or after them. Most are upserted as computed; a few are rebuilt from the stored trades instead
/// (`akis_rebuild_candles`, which defines what a stored candle is): trades too late for the
/// aggregator, a symbol's first candles after a start (the minute may have begun before it), the
/// minutes of refused rows, and every candle of a spooled batch (the spool keeps only their keys).
/// At start, once the spool is drained, the candles from a little before the latest stored trade
/// are rebuilt, which repairs what a crash lost with the batches in memory.
///
/// **Snapshots.** Top-of-book snapshots from a `SnapshotOutlet` ride with the next batch cut,
/// in memory or through the spool like its ticks, so none is lost while the database is slow or
/// down.
public final class CopyBatchWriter: TickConsumer, @unchecked Sendable {
    public struct Options: Sendable {
        public var flushIntervalNanos: Int64 = 100_000_000
        public var maximumBatchTicks = 100_000
        /// Names this writer's row in `ingest_writers`.
        public var writerID = "akis"
        public var retryInitialNanos: Int64 = 100_000_000
        public var retryMaximumNanos: Int64 = 5_000_000_000
        /// Batches that may wait in memory for the committer before new ones go to the spool.
        public var memoryBatches = 2
        /// Spooled batches are drained several to a transaction, up to this many ticks: each
        /// commit waits for a WAL flush, so fewer, larger commits drain a backlog faster.
        public var drainTransactionTicks = 500_000
        /// On `finish()`, how long the writer keeps retrying a failing database before it leaves
        /// what is left in the spool for the next start.
        public var finishRetryNanos: Int64 = 10_000_000_000
        /// At start, candles are rebuilt from this long before the latest stored trade: at least
        /// a minute plus the aggregator's allowed lateness.
        public var candleRebuildWindowNanos: Int64 = 10 * 60_000_000_000
        /// Session phases for the candles.
        public var calendar = SessionCalendar()
        /// The events each stored batch brings, appended in its transaction (the events module's
        /// MarketDataReceived); nil for none.
        public var events: (@Sendable (BatchSummary) -> [OutboxEvent])?
        /// Exchange feeds' depth, stored with each top-of-book snapshot (as of its time).
        public var depth: DepthBoard?
        public var spool: TickSpool.Options
        public init(spool: TickSpool.Options) { self.spool = spool }
    }

    /// Ticks committed, batches committed, and failed attempts (each retried).
    public let storedTicks = ManagedAtomic<UInt64>(0)
    public let committedBatches = ManagedAtomic<UInt64>(0)
    public let failedAttempts = ManagedAtomic<UInt64>(0)
    /// Rows the schema refused, each reported in the log.
    public let rejectedRows = ManagedAtomic<UInt64>(0)
    /// Batches written to the spool (live batches diverted, or moved there during an outage).
    public let spooledBatches = ManagedAtomic<UInt64>(0)
    /// Spooled batches that could not be read back (reported; their segment is kept as *.corrupt).
    public let unreadableBatches = ManagedAtomic<UInt64>(0)
    /// True while the spool refuses batches (full or failing) and the store lane is held.
    public let spoolAlarm = ManagedAtomic<Bool>(false)
    /// Candles upserted as the aggregator computed them, and rebuilt from the stored trades.
    public let candlesUpserted = ManagedAtomic<UInt64>(0)
    public let candlesRebuilt = ManagedAtomic<UInt64>(0)
    /// Top-of-book snapshots stored, and refused by the schema (reported in the log).
    public let snapshotsStored = ManagedAtomic<UInt64>(0)
    public let snapshotsLost = ManagedAtomic<UInt64>(0)
    /// Ticks of a run started without its database that an earlier run had stored (at or below
    /// their feed's stored checkpoint): dropped when the database came back.
    public let alreadyStored = ManagedAtomic<UInt64>(0)
    public let spool: TickSpool

    private let options: Options
    private let log: @Sendable (String) -> Void
    private let committer: BatchCommitter
    private let schema: SchemaGate
    /// The first number of a run started without its database's numbering (nil when it had it).
    private let blindFrom: Int64?
    private let lock = ConditionLock()
    private let stopped = DispatchSemaphore(value: 0)

    // Consumer thread.
    private var encoder: TickCopyEncoder
    private var pending: [Tick] = []
    /// When the batch being filled got its first content (nil while it is empty).
    private var batchStarted: Int64?
    private var nextNumber: Int64
    private let outlet: CandleOutlet?
    /// Ticks consumed so far (compared with candle updates' stamps), and updates not yet due.
    private var consumedTicks: UInt64 = 0
    private var updates: [CandleUpdate] = []
    private var pendingCandles: [CandleKey: Candle] = [:]
    private var pendingRebuilds: Set<CandleKey> = []
    private let snapshotOutlet: SnapshotOutlet?
    /// Snapshots received since the last cut.
    private var pendingSnapshots: [BookSnapshot] = []
    /// Per symbol, the minute of its first candle in this run (`.min` before it).
    private var firstCandle: [Int64] = []

    // Under `lock`: batches waiting in memory, lowest number first, the stop request, and
    // whether the committer knows where storage stands (until then, batches go to the spool).
    private var memory: [StoreBatch] = []
    private var finishing = false
    private var established: Bool

    // Committer thread.
    private var lastCommitted: Int64
    /// The stored checkpoints when a run started without its database reached it.
    private var storedCheckpoints: [UInt16: UInt64] = [:]
    /// Where the rebuild at start begins, until it has run.
    private var startupRebuild: Int64?
    /// The trading day's statistics as stored and spooled when this writer started (nil without
    /// the database then, or with nothing stored): the aggregator starts from them.
    public let dayStatistics: StoredDayStatistics.Report?
    /// The store's figures for the aggregator: `dayStatistics` at start, or, in a run started
    /// without the database, the ones stored once it is back and the spool drained.
    public let storedStatistics = StoredStatisticsHandoff()
    private let symbols: SymbolUniverse
    /// In a run started without its database: where handing the aggregator the stored figures
    /// stands (nil once done, or in a run that had its database at start).
    private var statisticsStep: StatisticsStep?
    private enum StatisticsStep { case ask, deliver }
    /// This run's tick count at the end of its batches, lowest number first, while
    /// `statisticsStep` needs it (under `lock`).
    private var batchEnds: [(number: Int64, ticks: UInt64)] = []
    private var recordingBatchEnds: Bool
    /// How many of this run's ticks the committed batches hold (committer thread).
    private var committedTicks: UInt64 = 0

    /// A writer for a schema known to be up to date in `layout`.
    public convenience init(conninfo: String, symbols: SymbolUniverse, layout: StorageLayout, options: Options, candles: CandleOutlet? = nil,
                            snapshots: SnapshotOutlet? = nil, log: @escaping @Sendable (String) -> Void) throws {
        try self.init(conninfo: conninfo, symbols: symbols, schema: SchemaGate(open: layout), options: options, candles: candles,
                      snapshots: snapshots, log: log)
    }

    /// Opens the spool, learns where the batch numbering stands from PostgreSQL when the schema is
    /// ready and the server answers (otherwise it starts without, see above), and starts the
    /// committer, which first drains any spooled batches.
    /// - Parameter candles: the aggregator's candle updates for this writer, if it stores candles.
    public init(conninfo: String, symbols: SymbolUniverse, schema: SchemaGate, options: Options, candles: CandleOutlet? = nil,
                snapshots: SnapshotOutlet? = nil, log: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.log = log
        self.schema = schema
        self.symbols = symbols
        outlet = candles
        snapshotOutlet = snapshots
        spool = try TickSpool(options: options.spool, symbols: symbols, log: log)
        committer = BatchCommitter(conninfo: conninfo, writerID: options.writerID, symbols: symbols, calendar: options.calendar,
                                   events: options.events, depth: options.depth)
        var stored: Int64?
        var rebuilt: StoredDayStatistics.Report?
        if let layout = schema.layout {
            committer.layout = layout
            do {
                stored = try committer.lastCommittedBatch()
                let latest = try committer.maxExchangeTime()
                if let latest { startupRebuild = Candle.minute(of: latest - options.candleRebuildWindowNanos) }
                // Before the committer starts, so that no spooled batch is both stored and read here.
                let spooled = Self.spooledTicks(spool, after: stored ?? 0, log: log)
                if let newest = latest ?? spooled.map(\.exchangeTime).max() {
                    do {
                        rebuilt = try StoredDayStatistics.rebuild(on: committer.connection(), symbols: symbols, calendar: options.calendar,
                                                                  latest: newest, spooled: spooled)
                    } catch {
                        log("statistics: cannot rebuild the trading day from the store (\(error)); the day's figures count this run's ticks only")
                    }
                }
            } catch {
                committer.disconnect()
                log("store: PostgreSQL does not answer (\(error))")
            }
        }
        dayStatistics = rebuilt
        if let rebuilt { storedStatistics.deliver(.init(statistics: rebuilt.statistics, through: 0)) }
        recordingBatchEnds = stored == nil
        if let stored {
            lastCommitted = stored
            nextNumber = max(stored, spool.highestNumber ?? 0) + 1
            blindFrom = nil
            established = true
        } else {
            lastCommitted = 0
            nextNumber = max(spool.highestNumber ?? 0, Clock.wallNanos() / 1_000) + 1
            blindFrom = nextNumber
            established = false
            log("store: storing waits for the database; until it answers, batches are spooled (numbered from \(nextNumber))")
        }
        encoder = TickCopyEncoder(symbols: symbols)
        DispatchQueue(label: "akis-store-commit").async { [self] in
            commitLoop()
            stopped.signal()
        }
    }

    /// The ticks of the spooled batches numbered after `lastCommitted`: what the drain will store.
    private static func spooledTicks(_ spool: TickSpool, after lastCommitted: Int64, log: (String) -> Void) -> [Tick] {
        var ticks: [Tick] = []
        for number in spool.lowestNumbers(below: .max, maximumTicks: Int(Int32.max)) where number > lastCommitted {
            do { ticks += try spool.read(number).ticks } catch { log("statistics: cannot read \(error); not counted") }
        }
        return ticks
    }

    /// The highest stored sequence number per feed id, to resume sequence tracking after a restart.
    public static func checkpoints(_ db: LibpqConnection) throws -> [UInt16: UInt64] {
        var out: [UInt16: UInt64] = [:]
        for row in try db.execute("SELECT feed, highest_seq FROM ingest_checkpoints").rows {
            if let f = row[0].flatMap({ Int16($0) }), let s = row[1].flatMap({ Int64($0) }) {
                out[UInt16(bitPattern: f)] = UInt64(bitPattern: s)
            }
        }
        return out
    }

    // MARK: - Consumer thread

    public var idleIntervalNanos: Int64 { options.flushIntervalNanos / 2 }
    /// Batches are cut every flush interval (100 ms): a few milliseconds in the lane change nothing.
    public var toleratedDelayNanos: Int64 { min(5_000_000, options.flushIntervalNanos / 4) }

    public func consume(_ ticks: UnsafeBufferPointer<Tick>) {
        // Updates taken before the ticks: each one's stamp is then covered by ticks at hand.
        receiveUpdates()
        if batchStarted == nil { batchStarted = Clock.monotonicNanos() }
        for tick in ticks {
            encoder.append(tick)
            pending.append(tick)
            consumedTicks += 1
            if encoder.rows >= options.maximumBatchTicks { flush() }
        }
        takeDueUpdates()
        flushIfDue(now: Clock.monotonicNanos())
    }

    public func idle(now: Int64) {
        receiveUpdates()
        takeDueUpdates()
        flushIfDue(now: now)
    }

    /// Starts the batch's clock when it has content, and cuts it once the flush interval has passed.
    private func flushIfDue(now: Int64) {
        if batchIsEmpty { return }
        let started = batchStarted ?? now
        batchStarted = started
        if now - started >= options.flushIntervalNanos { flush() }
    }

    /// Cuts the last batch and waits until everything is stored, or, when PostgreSQL is
    /// unreachable, kept in the spool.
    public func finish() {
        receiveUpdates()
        flush()
        lock.withLock {
            finishing = true
            lock.broadcast()
        }
        stopped.wait()
    }

    private var batchIsEmpty: Bool { encoder.rows == 0 && pendingCandles.isEmpty && pendingRebuilds.isEmpty && pendingSnapshots.isEmpty }

    private func receiveUpdates() {
        if let outlet { _ = outlet.ring.drain(maximum: .max) { updates.append(contentsOf: $0) } }
        if let snapshotOutlet { _ = snapshotOutlet.ring.drain(maximum: .max) { pendingSnapshots.append(contentsOf: $0) } }
    }

    /// Moves the updates whose ticks have all been consumed into the batch being filled.
    private func takeDueUpdates() {
        guard let last = updates.lastIndex(where: { $0.stamp <= consumedTicks }) else { return }
        for u in updates[...last] {
            let key = u.candle.key
            let s = Int(key.symbol.rawValue)
            switch u.kind {
            case .rebuild:
                pendingRebuilds.insert(key)
            case .closed, .corrected:
                // A symbol's first candle in this run may lack trades from before the start.
                if s >= firstCandle.count { firstCandle += Array(repeating: .min, count: s + 1 - firstCandle.count) }
                if firstCandle[s] == .min || key.start <= firstCandle[s] {
                    if firstCandle[s] == .min { firstCandle[s] = key.start }
                    pendingRebuilds.insert(key)
                    pendingCandles[key] = nil
                } else if !pendingRebuilds.contains(key) {
                    pendingCandles[key] = u.candle
                }
            }
        }
        updates.removeSubrange(...last)
    }

    private func flush() {
        takeDueUpdates()
        guard !batchIsEmpty else { return }
        let batch = StoreBatch(number: nextNumber, ticks: pending, copyData: encoder.finished(),
                               candles: pendingCandles.values.sorted { ($0.start, $0.symbol) < ($1.start, $1.symbol) },
                               rebuilds: pendingRebuilds.sorted { ($0.start, $0.symbol) < ($1.start, $1.symbol) },
                               snapshots: pendingSnapshots)
        batchStarted = nil
        encoder.reset()
        pending.removeAll(keepingCapacity: true)
        pendingCandles.removeAll(keepingCapacity: true)
        pendingRebuilds.removeAll(keepingCapacity: true)
        pendingSnapshots.removeAll(keepingCapacity: true)
        lock.withLock { if recordingBatchEnds { batchEnds.append((batch.number, consumedTicks)) } }
        nextNumber += 1
        if handOver(batch) { return }
        // From here on every uncommitted batch is on disk, so a crash cannot leave a hole
        // before batches that survive in the spool.
        _ = spillMemory()
        spill(batch)
    }

    /// Queues `batch` in memory when nothing is spooled and there is room.
    private func handOver(_ batch: StoreBatch) -> Bool {
        lock.withLock {
            guard established && memory.count < options.memoryBatches && spool.isEmpty else { return false }
            memory.append(batch)
            lock.broadcast()
            return true
        }
    }

    /// Writes `batch` to the spool, holding the consumer thread (and so the store lane) while the
    /// spool refuses it.
    private func spill(_ batch: StoreBatch) {
        var since: Int64?
        while true {
            do {
                try spool.append(number: batch.number, ticks: batch.ticks, candles: batch.candleKeys, snapshots: batch.snapshots)
                spooledBatches.wrappingIncrement(ordering: .relaxed)
                break
            } catch {
                if since == nil {
                    since = Clock.monotonicNanos()
                    spoolAlarm.store(true, ordering: .relaxed)
                    log("store: ALARM: \(error); holding the store lane until batches drain (the pipeline waits; feeds back up into the kernel's socket buffers)")
                }
                if handOver(batch) { break }
                lock.withLock { lock.wait(timeoutNanos: 100_000_000) }
            }
        }
        if let since {
            spoolAlarm.store(false, ordering: .relaxed)
            log("store: the spool takes batches again after \((Clock.monotonicNanos() - since) / 1_000_000) ms")
        }
        lock.withLock { lock.broadcast() }
    }

    // MARK: - Committer thread

    private enum Source {
        case memory(StoreBatch)
        /// Consecutive spooled batches, lowest first, committed as one.
        case spool([Int64])
        /// The rebuild of recent candles at start (once the spool is drained).
        case rebuild(from: Int64)
        /// The next step of handing the aggregator the stored figures.
        case statistics(StatisticsStep)
    }

    /// Waits until the schema is up to date and PostgreSQL answers, then reads where storage
    /// stands. False when the writer was told to finish and the database still did not answer
    /// within `finishRetryNanos`: the batches stay in the spool.
    private func establish() -> Bool {
        var backoff = ReconnectBackoff(initialNanos: options.retryInitialNanos, maximumNanos: options.retryMaximumNanos)
        var reported = false
        var givingUpSince: Int64?
        while true {
            if let layout = schema.wait(timeoutNanos: 200_000_000) {
                committer.layout = layout
                do {
                    let stored = try committer.lastCommittedBatch()
                    storedCheckpoints = try committer.checkpoints()
                    let latest = try committer.maxExchangeTime()
                    // This run's batches were never committed, whatever the stored number says.
                    lastCommitted = min(stored, (blindFrom ?? .max) - 1)
                    lock.withLock {
                        if let latest { startupRebuild = Candle.minute(of: latest - options.candleRebuildWindowNanos) }
                        statisticsStep = .ask
                        established = true
                        lock.broadcast()
                    }
                    log("store: PostgreSQL is back: storing the \(spool.count) spooled batches, then live ones")
                    return true
                } catch {
                    committer.disconnect()
                    failedAttempts.wrappingIncrement(ordering: .relaxed)
                    if !reported { log("store: PostgreSQL does not answer yet (\(error)); retrying") }
                    reported = true
                    Clock.sleep(untilMonotonic: Clock.monotonicNanos() + backoff.nextDelay(unit: Double.random(in: 0..<1)))
                }
            }
            // Told to finish: keep trying as long as a failing commit would (finishRetryNanos).
            if lock.withLock({ finishing }) {
                let now = Clock.monotonicNanos()
                if now - (givingUpSince ?? now) >= options.finishRetryNanos {
                    log("store: stopping before the database answered: \(spool.count) batches stay in the spool for the next start")
                    return false
                }
                givingUpSince = givingUpSince ?? now
            }
        }
    }

    /// Leaves out the ticks an earlier run stored, in a batch of a run that started without its
    /// database (see the type's documentation).
    private func unstored(_ batch: StoreBatch) -> StoreBatch {
        guard let blindFrom, batch.number >= blindFrom, !storedCheckpoints.isEmpty else { return batch }
        let (kept, dropped) = batch.droppingStored(storedCheckpoints)
        if dropped > 0 {
            alreadyStored.wrappingIncrement(by: UInt64(dropped), ordering: .relaxed)
            log("store: batch \(batch.number): \(dropped) ticks at or below their feed's stored checkpoint were stored by an earlier run; not storing them again")
        }
        return kept
    }

    private func commitLoop() {
        if !lock.withLock({ established }) && !establish() { return }
        var backoff = ReconnectBackoff(initialNanos: options.retryInitialNanos, maximumNanos: options.retryMaximumNanos)
        var failedNumber: Int64?
        var givingUpSince: Int64?  // the first failure after finish() was called
        while let source = next() {
            let batch: StoreBatch
            switch source {
            case .memory(let b):
                batch = unstored(b)
            case .spool(let numbers):
                // One transaction for all of them, numbered as the highest: it stores all or none.
                var ticks: [Tick] = []
                var keys: [CandleKey] = []
                var snapshots: [BookSnapshot] = []
                var highest: Int64?
                for number in numbers where number > lastCommitted {
                    do {
                        let read = try spool.read(number)
                        ticks += unstored(StoreBatch(number: number, ticks: read.ticks, copyData: nil)).ticks
                        keys += read.candles
                        snapshots += read.snapshots
                        highest = number
                    } catch {
                        unreadableBatches.wrappingIncrement(ordering: .relaxed)
                        log("store: cannot read \(error); skipping it")
                        spool.remove(number, damaged: true)
                    }
                }
                guard let highest else {
                    done(source)
                    continue
                }
                batch = StoreBatch(number: highest, ticks: ticks, copyData: nil, rebuilds: Array(Set(keys)), snapshots: snapshots)
            case .rebuild(let from):
                do {
                    let started = Clock.monotonicNanos()
                    let n = try committer.rebuildCandles(from: from, log: log)
                    candlesRebuilt.wrappingIncrement(by: UInt64(n), ordering: .relaxed)
                    log("store: rebuilt \(n) candles from \(UTCTime.formatISO8601(from)) on from the stored trades in \((Clock.monotonicNanos() - started) / 1_000_000) ms")
                    lock.withLock { startupRebuild = nil }
                    backoff.reset()
                } catch {
                    failedAttempts.wrappingIncrement(ordering: .relaxed)
                    committer.disconnect()
                    if lock.withLock({ finishing }) {
                        log("store: candle rebuild at start failed: \(error); stopping (it runs again at the next start)")
                        lock.withLock { startupRebuild = nil }
                        continue
                    }
                    let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                    log("store: candle rebuild at start failed: \(error); retrying in \(delay / 1_000_000) ms")
                    Clock.sleep(untilMonotonic: Clock.monotonicNanos() + delay)
                }
                continue
            case .statistics(let step):
                handStatistics(step)
                continue
            }
            do {
                if batch.number <= lastCommitted {
                    done(source)
                    continue
                }
                if failedNumber == batch.number, try committer.lastCommittedBatch() >= batch.number {
                    log("store: batch \(batch.number) was committed before the connection broke; not storing it again")
                    storedTicks.wrappingIncrement(by: UInt64(batch.ticks.count), ordering: .relaxed)
                } else {
                    let outcome = try committer.commit(batch)
                    snapshotsStored.wrappingIncrement(by: UInt64(outcome.snapshotsStored), ordering: .relaxed)
                    snapshotsLost.wrappingIncrement(by: UInt64(batch.snapshots.count - outcome.snapshotsStored), ordering: .relaxed)
                    candlesUpserted.wrappingIncrement(by: UInt64(outcome.candlesUpserted), ordering: .relaxed)
                    candlesRebuilt.wrappingIncrement(by: UInt64(outcome.candlesRebuilt), ordering: .relaxed)
                    storedTicks.wrappingIncrement(by: UInt64(batch.ticks.count - outcome.rejected.count), ordering: .relaxed)
                    rejectedRows.wrappingIncrement(by: UInt64(outcome.rejected.count), ordering: .relaxed)
                    for r in outcome.rejected {
                        log("store: rejected row: feed \(r.tick.feed), sequence \(r.tick.sequence), symbol \(committer.template.symbolName(r.tick.symbol)): \(r.reason)")
                    }
                    for notice in outcome.notices { log("store: batch \(batch.number): \(notice)") }
                }
                // Every number up to this one is now stored (or was unreadable and reported).
                committedBatches.wrappingIncrement(by: UInt64(batch.number - lastCommitted), ordering: .relaxed)
                lastCommitted = batch.number
                if statisticsStep != nil { noteCommittedTicks() }
                failedNumber = nil
                backoff.reset()
                givingUpSince = nil
                done(source)
            } catch {
                failedAttempts.wrappingIncrement(ordering: .relaxed)
                failedNumber = batch.number
                committer.disconnect()
                let kept = spillMemory()
                if lock.withLock({ finishing }) && kept == 0 {
                    let now = Clock.monotonicNanos()
                    if now - (givingUpSince ?? now) >= options.finishRetryNanos {
                        log("store: batch \(batch.number) not stored: \(error); stopping with \(spool.count) batches in the spool for the next start")
                        return
                    }
                    givingUpSince = givingUpSince ?? now
                }
                let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                log("store: batch \(batch.number) of \(batch.ticks.count) ticks not stored: \(error); retrying in \(delay / 1_000_000) ms")
                Clock.sleep(untilMonotonic: Clock.monotonicNanos() + delay)
            }
        }
    }

    /// The lowest-numbered batch waiting, in memory or in the spool; nil once finishing and empty.
    private func next() -> Source? {
        lock.withLock {
            while true {
                let spooled = spool.lowestNumber
                if let from = startupRebuild, spooled == nil { return .rebuild(from: from) }
                if spooled == nil, let step = statisticsStep {
                    if step == .ask { return .statistics(.ask) }
                    if let mark = storedStatistics.mark, committedTicks >= mark { return .statistics(.deliver) }
                }
                if let first = memory.first, spooled.map({ first.number < $0 }) ?? true { return .memory(first) }
                if spooled != nil {
                    return .spool(spool.lowestNumbers(below: memory.first?.number ?? .max, maximumTicks: options.drainTransactionTicks))
                }
                if finishing { return nil }
                lock.wait(timeoutNanos: 1_000_000_000)
            }
        }
    }

    /// The committed batches of this run: how many of its ticks they hold.
    private func noteCommittedTicks() {
        lock.withLock {
            let passed = batchEnds.prefix { $0.number <= lastCommitted }
            if let last = passed.last { committedTicks = last.ticks }
            batchEnds.removeFirst(passed.count)
        }
    }

    /// In a run started without its database, once the spool is drained: asks the aggregator to
    /// mark where it stands, then, once the committed batches reach the mark, rebuilds the day
    /// from the store (which now holds this run's ticks up to there) and delivers it.
    private func handStatistics(_ step: StatisticsStep) {
        switch step {
        case .ask:
            storedStatistics.ask()
            statisticsStep = .deliver
        case .deliver:
            lock.withLock {
                statisticsStep = nil
                recordingBatchEnds = false
                batchEnds.removeAll()
            }
            var delivery = StoredStatisticsHandoff.Delivery(statistics: nil, through: committedTicks, checkpoints: storedCheckpoints)
            do {
                if let latest = try committer.maxExchangeTime(),
                   let report = try StoredDayStatistics.rebuild(on: committer.connection(), symbols: symbols, calendar: options.calendar, latest: latest) {
                    delivery.statistics = report.statistics
                    log(report.description + ", once PostgreSQL was back (this run's first \(committedTicks) ticks among them): the day's figures count on from there")
                }
            } catch {
                committer.disconnect()
                log("statistics: cannot rebuild the trading day from the store (\(error)); the day's figures count this run's ticks only")
            }
            storedStatistics.deliver(delivery)
        }
    }

    private func done(_ source: Source) {
        switch source {
        case .memory(let batch):
            lock.withLock {
                memory.removeAll { $0.number == batch.number }
                lock.broadcast()
            }
            spool.remove(batch.number)  // when it was also moved there meanwhile
        case .spool(let numbers):
            for number in numbers { spool.remove(number) }
            lock.withLock { lock.broadcast() }
        case .rebuild, .statistics:
            break
        }
    }

    /// Moves the batches waiting in memory to the spool (including one the committer may be
    /// storing right now: whichever copy commits first wins, the other is skipped by number).
    /// Returns how many are still only in memory (the spool refused them).
    private func spillMemory() -> Int {
        let waiting = lock.withLock {
            defer { memory.removeAll() }
            return memory
        }
        var kept: [StoreBatch] = []
        for batch in waiting {
            do {
                try spool.append(number: batch.number, ticks: batch.ticks, candles: batch.candleKeys, snapshots: batch.snapshots)
                spooledBatches.wrappingIncrement(ordering: .relaxed)
            } catch {
                kept.append(batch)
            }
        }
        lock.withLock {
            memory.insert(contentsOf: kept, at: 0)
            memory.sort { $0.number < $1.number }
            lock.broadcast()
        }
        if !kept.isEmpty { log("store: \(kept.count) batches stay in memory only: the spool refuses them") }
        return kept.count
    }
}
