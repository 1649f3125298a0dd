import Ingest

/// Stores one batch per transaction: the day partitions it needs (plain layout), one binary COPY
/// into `market_ticks`, the per-feed checkpoints (highest stored sequence) and the writer's batch
/// number, all committed together. Used by the store writer's committer thread only.
///
/// A row the schema refuses (a data exception or integrity violation) does not poison its batch:
/// the batch is split under savepoints until each bad row is isolated, and every other row is
/// stored in the same transaction.
final class BatchCommitter {
    struct Rejected {
        var tick: Tick
        var reason: String
    }

    private let conninfo: String
    private let layout: StorageLayout
    private let writerID: String
    /// Never mutated: symbol names, and fresh encoders for spooled batches and row isolation.
    let template: TickCopyEncoder
    private var db: PostgresConnection?
    private var partitionDays: Set<Int64> = []

    private static let copySQL = "COPY market_ticks (\(TickCopyEncoder.columns)) FROM STDIN (FORMAT binary)"

    init(conninfo: String, layout: StorageLayout, writerID: String, symbols: SymbolTable) throws {
        self.conninfo = conninfo
        self.layout = layout
        self.writerID = writerID
        template = TickCopyEncoder(symbols: symbols)
        db = try PostgresConnection(conninfo: conninfo)
    }

    /// The number of this writer's last committed batch (0 for none).
    func lastCommittedBatch() throws -> Int64 {
        let r = try connection().execute("SELECT last_batch FROM ingest_writers WHERE writer = $1", parameters: [writerID])
        return r.rows.first?[0].flatMap { Int64($0) } ?? 0
    }

    /// Drops the connection after a failure; the next call opens a new one.
    func disconnect() { db = nil }

    /// Commits `batch`; returns the rows the schema refused (already left out).
    func commit(_ batch: StoreBatch) throws -> [Rejected] {
        let db = try connection()
        let days = layout == .plain ? Self.days(of: batch.ticks).subtracting(partitionDays) : []
        try db.execute("BEGIN")
        do {
            for day in days.sorted() {
                try db.execute("SELECT akis_ensure_tick_partition(to_timestamp($1::bigint * 86400)::date)", parameters: [String(day)])
            }
            var rejected: [(Int, String)] = []
            try db.execute("SAVEPOINT batch")
            do {
                try copy(batch.copyData ?? encode(batch.ticks[...]), rows: batch.ticks.count, on: db)
                try db.execute("RELEASE SAVEPOINT batch")
            } catch let error as PostgresError where error.isDataError {
                try db.execute("ROLLBACK TO SAVEPOINT batch")
                try isolate(0..<batch.ticks.count, of: batch.ticks, on: db, rejected: &rejected)
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
            try db.execute("""
                INSERT INTO ingest_writers (writer, last_batch) VALUES ($1, $2)
                ON CONFLICT (writer) DO UPDATE SET last_batch = excluded.last_batch, updated_at = now()
                """, parameters: [writerID, String(batch.number)])
            try db.execute("COMMIT")
            partitionDays.formUnion(days)
            return rejected.map { Rejected(tick: batch.ticks[$0.0], reason: $0.1) }
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    private func connection() throws -> PostgresConnection {
        if let db, db.isHealthy { return db }
        let fresh = try PostgresConnection(conninfo: conninfo)
        db = fresh
        return fresh
    }

    private func encode(_ ticks: ArraySlice<Tick>) -> [UInt8] {
        var encoder = TickCopyEncoder(sharing: template)
        for t in ticks { encoder.append(t) }
        return encoder.finished()
    }

    private func copy(_ data: [UInt8], rows: Int, on db: PostgresConnection) throws {
        let copied = try db.copyIn(Self.copySQL, data: data)
        guard copied == rows else {
            throw PostgresError.statement(sql: "COPY market_ticks", sqlState: "", message: "copied \(copied) of \(rows) rows")
        }
    }

    /// Stores `range` of the batch, halving it around rows the schema refuses (a few COPYs per bad row).
    private func isolate(_ range: Range<Int>, of ticks: [Tick], on db: PostgresConnection, rejected: inout [(Int, String)]) throws {
        try db.execute("SAVEPOINT part")
        do {
            try copy(encode(ticks[range]), rows: range.count, on: db)
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

    /// The UTC days (since the epoch) the ticks fall on, for the plain layout's partitions.
    static func days(of ticks: [Tick]) -> Set<Int64> {
        var days: Set<Int64> = []
        var last = Int64.min
        for t in ticks {
            let day = t.exchangeTime >= 0 ? t.exchangeTime / 86_400_000_000_000 : (t.exchangeTime + 1) / 86_400_000_000_000 - 1
            if day != last {
                days.insert(day)
                last = day
            }
        }
        return days
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
