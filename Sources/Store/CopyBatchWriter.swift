import Atomics
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
/// While PostgreSQL is unreachable the writer retries with backoff and holds its batch; the store
/// lane then fills and the pipeline waits (backpressure, nothing dropped).
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

    private let conninfo: String
    private let layout: StorageLayout
    private let options: Options
    private let log: (String) -> Void
    private var db: PostgresConnection?
    private var encoder: TickCopyEncoder
    private var highest: [UInt16: UInt64] = [:]
    private var days: Set<Int64> = []
    private var partitionDays: Set<Int64> = []
    private var batchStarted: Int64 = 0
    private var nextBatch: Int64

    public init(conninfo: String, symbols: SymbolTable, layout: StorageLayout, options: Options = .init(),
                log: @escaping (String) -> Void) throws {
        self.conninfo = conninfo
        self.layout = layout
        self.options = options
        self.log = log
        encoder = TickCopyEncoder(symbols: symbols)
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
            if tick.sequence > highest[tick.feed, default: 0] { highest[tick.feed] = tick.sequence }
            if layout == .plain {
                let day = tick.exchangeTime >= 0 ? tick.exchangeTime / 86_400_000_000_000 : (tick.exchangeTime + 1) / 86_400_000_000_000 - 1
                if !partitionDays.contains(day) { days.insert(day) }
            }
            if encoder.rows >= options.maximumBatchTicks { flush() }
        }
        if Clock.monotonicNanos() - batchStarted >= options.flushIntervalNanos { flush() }
    }

    public func idle(now: Int64) {
        if encoder.rows > 0 && now - batchStarted >= options.flushIntervalNanos { flush() }
    }

    public func finish() { flush() }

    /// Commits the pending batch, retrying until it is stored.
    private func flush() {
        guard encoder.rows > 0 else { return }
        let data = encoder.finished()
        let rows = encoder.rows
        var backoff = ReconnectBackoff(initialNanos: options.retryInitialNanos, maximumNanos: options.retryMaximumNanos)
        var outcomeUnknown = false
        while true {
            do {
                let db = try connection()
                if outcomeUnknown, try committed(nextBatch, on: db) {
                    log("store: batch \(nextBatch) was committed before the connection broke; not storing it again")
                    break
                }
                try commit(data, rows: rows, on: db)
                break
            } catch {
                failedAttempts.wrappingIncrement(ordering: .relaxed)
                outcomeUnknown = true
                self.db = nil
                let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                log("store: batch \(nextBatch) of \(rows) ticks not stored: \(error); retrying in \(delay / 1_000_000) ms")
                Clock.sleep(untilMonotonic: Clock.monotonicNanos() + delay)
            }
        }
        storedTicks.wrappingIncrement(by: UInt64(rows), ordering: .relaxed)
        committedBatches.wrappingIncrement(ordering: .relaxed)
        partitionDays.formUnion(days)
        days.removeAll(keepingCapacity: true)
        highest.removeAll(keepingCapacity: true)
        nextBatch += 1
        encoder.reset()
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

    private func commit(_ data: [UInt8], rows: Int, on db: PostgresConnection) throws {
        try db.execute("BEGIN")
        do {
            for day in days.sorted() {
                try db.execute("SELECT akis_ensure_tick_partition(to_timestamp($1::bigint * 86400)::date)", parameters: [String(day)])
            }
            let copied = try db.copyIn("COPY market_ticks (\(TickCopyEncoder.columns)) FROM STDIN (FORMAT binary)", data: data)
            guard copied == rows else { throw PostgresError.statement(sql: "COPY market_ticks", sqlState: "", message: "copied \(copied) of \(rows) rows") }
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
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }
}
