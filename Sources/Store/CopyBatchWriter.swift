import Atomics
import Dispatch
import Glibc
import Ingest

/// The store writer: the consumer at the end of the pipeline's store lane, on its own thread.
///
/// It encodes ticks into a binary COPY stream as they arrive and commits a batch every flush
/// interval (100 ms by default) or as soon as it holds `maximumBatchTicks`: one transaction with
/// the COPY into `market_ticks`, the per-feed checkpoints (highest stored sequence) and this
/// writer's batch number. A batch whose outcome is unknown (the connection broke during COMMIT)
/// is looked up by its number before it is retried, so each tick is stored exactly once.
///
/// A row the schema rejects (a data or constraint error) does not poison its batch: the batch is
/// split until the bad rows are isolated; each is reported with its feed, sequence and reason and
/// counted, and every other row is stored in the same transaction.
///
/// Batches are committed on a serial queue, in order, while the next batch fills. While
/// PostgreSQL is unreachable the writer retries with backoff and holds its batches; the store lane
/// then fills and the pipeline waits (backpressure, nothing dropped).
public final class CopyBatchWriter: TickConsumer, @unchecked Sendable {
    public struct Options: Sendable {
        public var flushIntervalNanos: Int64 = 100_000_000
        public var maximumBatchTicks = 100_000
        /// Names this writer's row in `ingest_writers`.
        public var writerID = "akis"
        public var retryInitialNanos: Int64 = 100_000_000
        public var retryMaximumNanos: Int64 = 5_000_000_000
        public init() {}
    }

    /// Ticks committed, batches committed, and failed attempts (each retried).
    public let storedTicks = ManagedAtomic<UInt64>(0)
    public let committedBatches = ManagedAtomic<UInt64>(0)
    public let failedAttempts = ManagedAtomic<UInt64>(0)
    /// Rows the schema refused, each reported in the log.
    public let rejectedRows = ManagedAtomic<UInt64>(0)

    private let conninfo: String
    private let layout: StorageLayout
    private let options: Options
    private let log: (String) -> Void

    // The consumer thread's side: the batch being filled.
    private var encoder: TickCopyEncoder
    /// The batch's ticks, for isolating rows the schema refuses (rare; the fast path sends
    /// `encoder`'s bytes).
    private var pending: [Tick] = []
    private var days: Set<Int64> = []
    private var lastDay = Int64.min
    private var batchStarted: Int64 = 0

    // The committer's side, touched only on `committer`: one batch is committed while the next
    // one fills, so PostgreSQL always has work when the feed is faster than it.
    private let committer = DispatchQueue(label: "akis-store-commit")
    private let inFlight = DispatchSemaphore(value: 2)
    private var db: PostgresConnection?
    /// Never mutated: the committer's source of symbol names and fresh encoders.
    private let template: TickCopyEncoder
    private var partitionDays: Set<Int64> = []
    private var nextBatch: Int64

    private struct Batch: Sendable {
        var data: [UInt8]
        var ticks: [Tick]
        var days: [Int64]
    }

    public init(conninfo: String, symbols: SymbolTable, layout: StorageLayout, options: Options = .init(),
                log: @escaping (String) -> Void) throws {
        self.conninfo = conninfo
        self.layout = layout
        self.options = options
        self.log = log
        encoder = TickCopyEncoder(symbols: symbols)
        template = encoder
        let db = try PostgresConnection(conninfo: conninfo)
        let last = try db.execute("SELECT last_batch FROM ingest_writers WHERE writer = $1", parameters: [options.writerID])
        nextBatch = (last.rows.first?[0].flatMap { Int64($0) } ?? 0) + 1
        self.db = db
    }

    /// The highest stored sequence number per feed id, to resume sequence tracking after a restart.
    public static func checkpoints(_ db: PostgresConnection) throws -> [UInt16: UInt64] {
        var out: [UInt16: UInt64] = [:]
        for row in try db.execute("SELECT feed, highest_seq FROM ingest_checkpoints").rows {
            if let f = row[0].flatMap({ Int16($0) }), let s = row[1].flatMap({ Int64($0) }) {
                out[UInt16(bitPattern: f)] = UInt64(bitPattern: s)
            }
        }
        return out
    }

    public var idleIntervalNanos: Int64 { options.flushIntervalNanos / 2 }

    public func consume(_ ticks: UnsafeBufferPointer<Tick>) {
        if encoder.rows == 0 { batchStarted = Clock.monotonicNanos() }
        for tick in ticks {
            encoder.append(tick)
            pending.append(tick)
            if layout == .plain {
                let t = tick.exchangeTime
                let day = t >= 0 ? t / 86_400_000_000_000 : (t + 1) / 86_400_000_000_000 - 1
                if day != lastDay {
                    days.insert(day)
                    lastDay = day
                }
            }
            if encoder.rows >= options.maximumBatchTicks { flush() }
        }
        if Clock.monotonicNanos() - batchStarted >= options.flushIntervalNanos { flush() }
    }

    public func idle(now: Int64) {
        if encoder.rows > 0 && now - batchStarted >= options.flushIntervalNanos { flush() }
    }

    /// Commits what is pending and waits until every batch is stored.
    public func finish() {
        flush()
        committer.sync {}
    }

    /// Hands the pending batch to the committer; waits while two batches are already with it.
    private func flush() {
        guard encoder.rows > 0 else { return }
        let batch = Batch(data: encoder.finished(), ticks: pending, days: days.sorted())
        encoder.reset()
        pending.removeAll(keepingCapacity: true)
        days.removeAll(keepingCapacity: true)
        lastDay = .min
        inFlight.wait()
        committer.async { [self] in
            store(batch)
            inFlight.signal()
        }
    }

    /// Commits one batch, retrying until it is stored (committer only).
    private func store(_ batch: Batch) {
        var backoff = ReconnectBackoff(initialNanos: options.retryInitialNanos, maximumNanos: options.retryMaximumNanos)
        var outcomeUnknown = false
        var rejected = 0
        while true {
            do {
                let db = try connection()
                if outcomeUnknown, try committed(nextBatch, on: db) {
                    log("store: batch \(nextBatch) was committed before the connection broke; not storing it again")
                    break
                }
                rejected = try commit(batch, on: db)
                break
            } catch {
                failedAttempts.wrappingIncrement(ordering: .relaxed)
                outcomeUnknown = true
                self.db = nil
                let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                log("store: batch \(nextBatch) of \(batch.ticks.count) ticks not stored: \(error); retrying in \(delay / 1_000_000) ms")
                Clock.sleep(untilMonotonic: Clock.monotonicNanos() + delay)
            }
        }
        storedTicks.wrappingIncrement(by: UInt64(batch.ticks.count - rejected), ordering: .relaxed)
        committedBatches.wrappingIncrement(ordering: .relaxed)
        partitionDays.formUnion(batch.days)
        nextBatch += 1
    }

    private func connection() throws -> PostgresConnection {
        if let db, db.isHealthy { return db }
        let fresh = try PostgresConnection(conninfo: conninfo)
        db = fresh
        return fresh
    }

    private func committed(_ batch: Int64, on db: PostgresConnection) throws -> Bool {
        let r = try db.execute("SELECT last_batch FROM ingest_writers WHERE writer = $1", parameters: [options.writerID])
        return (r.rows.first?[0].flatMap { Int64($0) } ?? 0) >= batch
    }

    private static let copySQL = "COPY market_ticks (\(TickCopyEncoder.columns)) FROM STDIN (FORMAT binary)"

    /// One transaction: partitions, COPY (isolating refused rows), checkpoints, batch number.
    /// Returns how many rows were refused.
    private func commit(_ batch: Batch, on db: PostgresConnection) throws -> Int {
        let rows = batch.ticks.count
        try db.execute("BEGIN")
        do {
            for day in batch.days where !partitionDays.contains(day) {
                try db.execute("SELECT akis_ensure_tick_partition(to_timestamp($1::bigint * 86400)::date)", parameters: [String(day)])
            }
            var rejected: [(Int, String)] = []
            try db.execute("SAVEPOINT batch")
            do {
                try expectCopied(try db.copyIn(Self.copySQL, data: batch.data), rows)
                try db.execute("RELEASE SAVEPOINT batch")
            } catch let error as PostgresError where error.isDataError {
                try db.execute("ROLLBACK TO SAVEPOINT batch")
                try isolate(0..<rows, of: batch.ticks, on: db, rejected: &rejected)
            }
            var highest: [UInt16: UInt64] = [:]
            let refused = Set(rejected.map(\.0))
            for (i, tick) in batch.ticks.enumerated() where !refused.contains(i) && tick.sequence > highest[tick.feed, default: 0] {
                highest[tick.feed] = tick.sequence
            }
            for (feed, seq) in highest {
                try db.execute("""
                    INSERT INTO ingest_checkpoints (feed, highest_seq) VALUES ($1, $2)
                    ON CONFLICT (feed) DO UPDATE SET highest_seq = greatest(ingest_checkpoints.highest_seq, excluded.highest_seq), updated_at = now()
                    """, parameters: [String(Int16(bitPattern: feed)), String(Int64(bitPattern: seq))])
            }
            try db.execute("""
                INSERT INTO ingest_writers (writer, last_batch) VALUES ($1, $2)
                ON CONFLICT (writer) DO UPDATE SET last_batch = excluded.last_batch, updated_at = now()
                """, parameters: [options.writerID, String(nextBatch)])
            try db.execute("COMMIT")
            rejectedRows.wrappingIncrement(by: UInt64(rejected.count), ordering: .relaxed)
            for (i, reason) in rejected {
                let t = batch.ticks[i]
                log("store: rejected row: feed \(t.feed), sequence \(t.sequence), symbol \(template.symbolName(t.symbol)): \(reason)")
            }
            return rejected.count
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    private func expectCopied(_ copied: Int, _ rows: Int) throws {
        guard copied == rows else { throw PostgresError.statement(sql: "COPY market_ticks", sqlState: "", message: "copied \(copied) of \(rows) rows") }
    }

    /// Stores `range` of the batch, halving it around rows the schema refuses (a few COPYs per bad row).
    private func isolate(_ range: Range<Int>, of ticks: [Tick], on db: PostgresConnection, rejected: inout [(Int, String)]) throws {
        var encoder = TickCopyEncoder(sharing: template)
        for i in range { encoder.append(ticks[i]) }
        try db.execute("SAVEPOINT part")
        do {
            try expectCopied(try db.copyIn(Self.copySQL, data: encoder.finished()), range.count)
            try db.execute("RELEASE SAVEPOINT part")
        } catch let error as PostgresError where error.isDataError {
            try db.execute("ROLLBACK TO SAVEPOINT part")
            try db.execute("RELEASE SAVEPOINT part")
            if range.count == 1 {
                rejected.append((range.lowerBound, error.reason))
                return
            }
            let middle = range.lowerBound + range.count / 2
            try isolate(range.lowerBound..<middle, of: ticks, on: db, rejected: &rejected)
            try isolate(middle..<range.upperBound, of: ticks, on: db, rejected: &rejected)
        }
    }
}

extension PostgresError {
    /// A data exception (class 22) or integrity violation (class 23): the rows are at fault,
    /// not the connection, so retrying the same rows cannot help.
    var isDataError: Bool {
        guard case .statement(_, let state, _) = self else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    var reason: String {
        switch self {
        case .statement(_, let state, let message): "\(message) (SQLSTATE \(state))"
        case .connection(let message): message
        }
    }
}
