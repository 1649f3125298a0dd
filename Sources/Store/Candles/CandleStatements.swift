import Aggregator
import Ingest

/// The SQL that stores 1-minute candles: upserts of the aggregator's values, and rebuilds from
/// the stored trades (`akis_rebuild_candles`, migration 3), which define what a stored candle must
/// be. Runs inside the store writer's batch transactions.
struct CandleStatements {
    let calendar: SessionCalendar
    let symbolName: (SymbolID) -> String

    static let upsertSQL = """
        INSERT INTO market_candles AS c (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap,
                                         first_seq, last_seq, session_phase)
        SELECT u.symbol, u.bucket, u.open, u.high, u.low, u.close, u.volume, u.trade_count, u.turnover, u.vwap,
               u.first_seq, u.last_seq, u.phase
        FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                    $8::integer[], $9::numeric[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[])
             AS u(symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq, phase)
        ON CONFLICT (symbol, bucket) DO UPDATE SET
            open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
            volume = excluded.volume, trade_count = excluded.trade_count, turnover = excluded.turnover,
            vwap = excluded.vwap, first_seq = excluded.first_seq, last_seq = excluded.last_seq,
            session_phase = excluded.session_phase, updated_at = now()
        """

    static let rebuildSQL = "SELECT akis_rebuild_candles($1::text[], $2::timestamptz[], $3::text[])"

    /// Upserts candles (at most one per key).
    func upsert(_ candles: [Candle], on db: LibpqConnection) throws {
        guard !candles.isEmpty else { return }
        func array(_ f: (Candle) -> String) -> String { "{" + candles.map(f).joined(separator: ",") + "}" }
        try db.execute(Self.upsertSQL, parameters: [
            array { symbolName($0.symbol) }, array { UTCTime.formatISO8601($0.start) },
            array { "\($0.open.units)" }, array { "\($0.high.units)" }, array { "\($0.low.units)" }, array { "\($0.close.units)" },
            array { "\($0.volume)" }, array { "\($0.tradeCount)" }, array { "\($0.turnover)" }, array { "\($0.vwap.units)" },
            array { "\(Int64(bitPattern: $0.firstSequence))" }, array { "\(Int64(bitPattern: $0.lastSequence))" },
            array { calendar.phase(at: $0.start).rawValue },
        ])
    }

    /// Rebuilds the candles of `keys` from the stored trades; returns how many exist afterwards.
    @discardableResult
    func rebuild(_ keys: [CandleKey], on db: LibpqConnection) throws -> Int {
        try rebuild(keys.map { (symbolName($0.symbol), $0.start) }, on: db)
    }

    /// The same, for keys by symbol name (read back from the database).
    @discardableResult
    func rebuild(_ keys: [(symbol: String, start: Int64)], on db: LibpqConnection) throws -> Int {
        guard !keys.isEmpty else { return 0 }
        func array(_ f: ((symbol: String, start: Int64)) -> String) -> String { "{" + keys.map(f).joined(separator: ",") + "}" }
        let r = try db.execute(Self.rebuildSQL, parameters: [
            array { $0.symbol }, array { UTCTime.formatISO8601($0.start) }, array { calendar.phase(at: $0.start).rawValue },
        ])
        return r.rows.first?[0].flatMap { Int($0) } ?? 0
    }

    /// The candles that may be missing or stale after a crash: every minute from `from` on that
    /// has stored trades or a stored candle.
    static func keys(from: Int64, on db: LibpqConnection) throws -> [(symbol: String, start: Int64)] {
        let r = try db.execute("""
            SELECT symbol, (extract(epoch FROM date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ 'epoch')) * 1000000)::bigint
            FROM market_ticks WHERE kind = 1 AND time >= to_timestamp($1::bigint / 1000000.0)
            GROUP BY 1, 2
            UNION
            SELECT symbol, (extract(epoch FROM bucket) * 1000000)::bigint FROM market_candles WHERE bucket >= to_timestamp($1::bigint / 1000000.0)
            ORDER BY 2, 1
            """, parameters: [String(from / 1000)])
        return r.rows.compactMap { row in
            guard let s = row[0], let micros = row[1].flatMap({ Int64($0) }) else { return nil }
            return (s, micros * 1000)
        }
    }
}
