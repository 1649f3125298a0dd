import Aggregator
import Ingest

/// Stores one batch per transaction: the day partitions it needs (plain layout), one binary COPY
/// into `market_ticks`, the batch's candles (upserted, or rebuilt from the stored trades), the
/// per-feed checkpoints (highest stored sequence) and the writer's batch number, all committed
/// together. Used by the store writer's committer thread only.
///
/// A row the schema refuses (a data exception or integrity violation) does not poison its batch:
/// the batch is split under savepoints until each bad row is isolated, and every other row is
/// stored in the same transaction. The candles of a refused trade's minute are rebuilt from what
/// was stored, then and whenever the aggregator sends that candle later.
final class BatchCommitter {
    struct Rejected {
        var tick: Tick
        var reason: String
    }

    /// What one commit stored, and what the schema refused (left out, the rest stored).
    struct Outcome {
        var rejected: [Rejected] = []
        var candlesUpserted = 0
        var candlesRebuilt = 0
        var snapshotsStored = 0
        /// Refusals other than rows, as log lines.
        var notices: [String] = []
    }

    private let conninfo: String
    /// Known once the schema is (the writer sets it before the first commit).
    var layout = StorageLayout.plain
    private let writerID: String
    /// Never mutated: symbol names, and fresh encoders for spooled batches and row isolation.
    let template: TickCopyEncoder
    private var db: LibpqConnection?
    private var partitionDays: Set<Int64> = []
    let candles: CandleStatements
    /// Candles whose minute had a refused trade: the aggregator's values include it, so they are
    /// always rebuilt instead (bounded; refused rows are rare and each is logged).
    private var tainted: Set<CandleKey> = []
    private var snapshotDays: Set<Int64> = []

    private static let copySQL = "COPY market_ticks (\(TickCopyEncoder.columns)) FROM STDIN (FORMAT binary)"

    /// The events each stored batch brings (nil: none).
    private let events: (@Sendable (BatchSummary) -> [OutboxEvent])?

    /// Exchange feeds' depth, stored with the top-of-book snapshots.
    private let depth: DepthBoard?

    /// Connects on first use.
    init(conninfo: String, writerID: String, symbols: SymbolUniverse, calendar: SessionCalendar,
         events: (@Sendable (BatchSummary) -> [OutboxEvent])? = nil, depth: DepthBoard? = nil) {
        self.conninfo = conninfo
        self.depth = depth
        self.events = events
        self.writerID = writerID
        let template = TickCopyEncoder(symbols: symbols)
        self.template = template
        candles = CandleStatements(calendar: calendar, symbolName: template.symbolName)
    }

    /// The highest stored sequence number per feed.
    func checkpoints() throws -> [UInt16: UInt64] { try CopyBatchWriter.checkpoints(connection()) }

    /// The latest exchange time among the ticks this writer stored (nil before any).
    func maxExchangeTime() throws -> Int64? {
        let r = try connection().execute(
            "SELECT (extract(epoch FROM max_exchange_time) * 1000000)::bigint FROM ingest_writers WHERE writer = $1",
            parameters: [writerID])
        return r.rows.first?[0].flatMap { Int64($0) }.map { $0 * 1000 }
    }

    /// Rebuilds every candle from `from` on, in transactions of a few thousand; returns how many.
    func rebuildCandles(from: Int64, log: (String) -> Void) throws -> Int {
        let db = try connection()
        let keys = try CandleStatements.keys(from: from, on: db)
        for chunk in stride(from: 0, to: keys.count, by: 2_000) {
            try db.execute("BEGIN")
            do {
                try candles.rebuild(Array(keys[chunk..<min(chunk + 2_000, keys.count)]), on: db)
                try db.execute("COMMIT")
            } catch {
                _ = try? db.execute("ROLLBACK")
                throw error
            }
            let done = min(chunk + 2_000, keys.count)
            if keys.count > 20_000 && done % 20_000 == 0 { log("store: rebuilding candles: \(done) of \(keys.count)") }
        }
        return keys.count
    }

    /// The number of this writer's last committed batch (0 for none).
    func lastCommittedBatch() throws -> Int64 {
        let r = try connection().execute("SELECT last_batch FROM ingest_writers WHERE writer = $1", parameters: [writerID])
        return r.rows.first?[0].flatMap { Int64($0) } ?? 0
    }

    /// Drops the connection after a failure; the next call opens a new one.
    func disconnect() { db = nil }

    /// Commits `batch`.
    func commit(_ batch: StoreBatch) throws -> Outcome {
        let db = try connection()
        let days = layout == .plain ? Self.days(of: batch.ticks).subtracting(partitionDays) : []
        try db.execute("BEGIN")
        do {
            for day in days.sorted() {
                try db.execute("SELECT akis_ensure_tick_partition(to_timestamp($1::bigint * 86400)::date)", parameters: [String(day)])
            }
            var outcome = Outcome()
            var rejected: [(Int, String)] = []
            if !batch.ticks.isEmpty, try dataError(underSavepoint: db, {
                try copy(batch.copyData ?? encode(batch.ticks[...]), rows: batch.ticks.count, on: db)
            }) != nil {
                try isolate(0..<batch.ticks.count, of: batch.ticks, on: db, rejected: &rejected)
            }
            var rebuild = Set(batch.rebuilds)
            var newlyTainted: [CandleKey] = []
            for (i, _) in rejected where batch.ticks[i].kind == .trade {
                let key = CandleKey(symbol: batch.ticks[i].symbol, start: Candle.minute(of: batch.ticks[i].exchangeTime))
                rebuild.insert(key)
                newlyTainted.append(key)
            }
            for c in batch.candles where tainted.contains(c.key) { rebuild.insert(c.key) }
            let upserts = batch.candles.filter { !rebuild.contains($0.key) }
            // A candle the schema refuses (it cannot happen with validated ticks) must not hold
            // up storage: its minute is rebuilt from the stored trades instead.
            if !upserts.isEmpty, let error = try dataError(underSavepoint: db, { try candles.upsert(upserts, on: db) }) {
                outcome.notices.append("candles refused (\(error.reason)); rebuilt from the stored trades instead")
                rebuild.formUnion(upserts.map(\.key))
            } else {
                outcome.candlesUpserted = upserts.count
            }
            outcome.candlesRebuilt = try candles.rebuild(Array(rebuild), on: db)
            let newSnapshotDays = layout == .plain ? Set(batch.snapshots.map { Self.day(of: $0.time) }).subtracting(snapshotDays) : []
            if !batch.snapshots.isEmpty {
                for day in newSnapshotDays.sorted() {
                    try db.execute("SELECT akis_ensure_snapshot_partition(to_timestamp($1::bigint * 86400)::date)",
                                   parameters: [String(day)])
                }
                if let error = try dataError(underSavepoint: db, { try insert(batch.snapshots, on: db) }) {
                    outcome.notices.append("\(batch.snapshots.count) top-of-book snapshots refused (\(error.reason)); dropped")
                } else {
                    outcome.snapshotsStored = batch.snapshots.count
                }
            }
            var highest: [UInt16: UInt64] = [:]
            let refused = Set(rejected.map(\.0))
            for (i, tick) in batch.ticks.enumerated() where tick.sequence > highest[tick.feed, default: 0] && !refused.contains(i) {
                highest[tick.feed] = tick.sequence
            }
            for (feed, seq) in highest {
                try db.execute("""
                    INSERT INTO ingest_checkpoints (feed, highest_seq) VALUES ($1, $2)
                    ON CONFLICT (feed) DO UPDATE SET highest_seq = greatest(ingest_checkpoints.highest_seq, excluded.highest_seq), updated_at = now()
                    """, parameters: [String(Int16(bitPattern: feed)), String(Int64(bitPattern: seq))])
            }
            if let events, let summary = BatchSummary(batch: batch.number, ticks: batch.ticks, skipping: refused, symbolName: template.symbolName) {
                for event in events(summary).sorted(by: { $0.topic < $1.topic }) {
                    try db.execute(Self.appendEventSQL, parameters: [
                        event.topic, event.id.uuidString, event.type, event.key, UTCTime.formatISO8601(event.time),
                        "\\x" + event.envelope.map { String(format: "%02x", $0) }.joined(),
                    ])
                }
            }
            try db.execute("""
                INSERT INTO ingest_writers (writer, last_batch, max_exchange_time) VALUES ($1, $2, $3::timestamptz)
                ON CONFLICT (writer) DO UPDATE SET last_batch = excluded.last_batch, updated_at = now(),
                    max_exchange_time = greatest(ingest_writers.max_exchange_time, excluded.max_exchange_time)
                """, parameters: [writerID, String(batch.number), batch.ticks.lazy.map(\.exchangeTime).max().map(UTCTime.formatISO8601)])
            try db.execute("COMMIT")
            partitionDays.formUnion(days)
            snapshotDays.formUnion(newSnapshotDays)
            if tainted.count + newlyTainted.count > 100_000 { tainted.removeAll() }
            tainted.formUnion(newlyTainted)
            outcome.rejected = rejected.map { Rejected(tick: batch.ticks[$0.0], reason: $0.1) }
            return outcome
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    private static let appendEventSQL = "SELECT akis_append_event($1, $2::uuid, $3, $4, $5::timestamptz, $6::bytea)"

    private static let snapshotSQL = """
        INSERT INTO order_book_snapshots (time, symbol, bid, ask, last_price, volume, trade_count)
        SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
        ON CONFLICT (symbol, time) DO UPDATE SET bid = excluded.bid, ask = excluded.ask, last_price = excluded.last_price,
            volume = excluded.volume, trade_count = excluded.trade_count
        """

    /// Depth goes into its snapshot's row, one statement per row (a few symbols a second).
    private static let depthSQL = """
        UPDATE order_book_snapshots SET depth_time = $3::timestamptz, bid_prices = $4::bigint[], bid_sizes = $5::bigint[],
            ask_prices = $6::bigint[], ask_sizes = $7::bigint[]
        WHERE symbol = $1 AND time = $2::timestamptz
        """

    private func insert(_ snapshots: [BookSnapshot], on db: LibpqConnection) throws {
        // The last state per symbol and time: one statement cannot update a row twice, and spooled
        // batches drained together may hold two runs' snapshots of the same time.
        var latest: [SnapshotKey: Int] = [:]
        for (i, snap) in snapshots.enumerated() { latest[SnapshotKey(symbol: snap.symbol, time: snap.time)] = i }
        let snapshots = latest.values.sorted().map { snapshots[$0] }
        func array(_ f: (BookSnapshot) -> String) -> String { "{" + snapshots.map(f).joined(separator: ",") + "}" }
        func price(_ p: Price) -> String { p.units > 0 ? "\(p.units)" : "NULL" }
        try db.execute(Self.snapshotSQL, parameters: [
            array { UTCTime.formatISO8601($0.time) }, array { template.symbolName($0.symbol) }, array { price($0.bid) },
            array { price($0.ask) }, array { price($0.lastPrice) }, array { "\($0.volume)" }, array { "\($0.tradeCount)" },
        ])
        guard let depth else { return }
        func list(_ values: [Int64]) -> String { "{" + values.map(String.init).joined(separator: ",") + "}" }
        for snap in snapshots {
            guard let d = depth.depth(of: snap.symbol, asOf: snap.time) else { continue }
            try db.execute(Self.depthSQL, parameters: [
                template.symbolName(snap.symbol), UTCTime.formatISO8601(snap.time), UTCTime.formatISO8601(d.time),
                list(d.bids.map(\.price.units)), list(d.bids.map(\.quantity)), list(d.asks.map(\.price.units)), list(d.asks.map(\.quantity)),
            ])
        }
    }

    private struct SnapshotKey: Hashable {
        var symbol: SymbolID
        var time: Int64
    }

    /// The UTC day (since the epoch) an instant falls on.
    private static func day(of nanos: Int64) -> Int64 { UTCTime.floor(nanos, toMultipleOf: UTCTime.nanosPerDay) / UTCTime.nanosPerDay }

    func connection() throws -> LibpqConnection {
        if let db, db.isHealthy { return db }
        let fresh = try LibpqConnection(conninfo: conninfo)
        db = fresh
        return fresh
    }

    private func encode(_ ticks: ArraySlice<Tick>) -> [UInt8] {
        var encoder = TickCopyEncoder(sharing: template)
        for t in ticks { encoder.append(t) }
        return encoder.finished()
    }

    private func copy(_ data: [UInt8], rows: Int, on db: LibpqConnection) throws {
        let copied = try db.copyIn(Self.copySQL, data: data)
        guard copied == rows else {
            throw LibpqError.statement(sql: "COPY market_ticks", sqlState: "", message: "copied \(copied) of \(rows) rows")
        }
    }

    /// Stores `range` of the batch, halving it around rows the schema refuses (a few COPYs per bad row).
    private func isolate(_ range: Range<Int>, of ticks: [Tick], on db: LibpqConnection, rejected: inout [(Int, String)]) throws {
        guard let error = try dataError(underSavepoint: db, { try copy(encode(ticks[range]), rows: range.count, on: db) }) else { return }
        if range.count == 1 {
            rejected.append((range.lowerBound, error.reason))
            return
        }
        let middle = range.lowerBound + range.count / 2
        try isolate(range.lowerBound..<middle, of: ticks, on: db, rejected: &rejected)
        try isolate(middle..<range.upperBound, of: ticks, on: db, rejected: &rejected)
    }

    /// Runs `body` under a savepoint. When the rows are at fault (a data error) it undoes just
    /// that part and returns the error; the transaction goes on. Other errors propagate.
    private func dataError(underSavepoint db: LibpqConnection, _ body: () throws -> Void) throws -> LibpqError? {
        try db.execute("SAVEPOINT part")
        do {
            try body()
            try db.execute("RELEASE SAVEPOINT part")
            return nil
        } catch let error as LibpqError where error.isDataError {
            try db.execute("ROLLBACK TO SAVEPOINT part")
            try db.execute("RELEASE SAVEPOINT part")
            return error
        }
    }

    /// The UTC days (since the epoch) the ticks fall on, for the plain layout's partitions.
    static func days(of ticks: [Tick]) -> Set<Int64> {
        var days: Set<Int64> = []
        var last = Int64.min
        for t in ticks {
            let d = day(of: t.exchangeTime)
            if d != last {
                days.insert(d)
                last = d
            }
        }
        return days
    }
}

extension LibpqError {
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
