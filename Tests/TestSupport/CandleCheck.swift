import Store

/// Compares every stored 1-minute candle with the SQL aggregation of the stored trades of its
/// minute (open and close the first and last trade by sequence); returns how many candles there
/// are and the (symbol, minute) of every difference, either way (a minute with trades and no
/// candle counts too).
public func candlesAgainstTrades(_ db: LibpqConnection) throws -> (candles: Int, mismatches: [[String?]]) {
    let mismatches = try db.execute("""
        WITH expected AS (
            SELECT symbol, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
                   (array_agg(price ORDER BY seq, time))[1] AS open, max(price) AS high, min(price) AS low,
                   (array_agg(price ORDER BY seq DESC, time DESC))[1] AS close,
                   sum(volume) AS volume, count(*) AS trade_count, sum(price::numeric * volume) AS turnover,
                   round(sum(price::numeric * volume) / sum(volume)) AS vwap, min(seq) AS first_seq, max(seq) AS last_seq
            FROM market_ticks WHERE kind = 1 GROUP BY 1, 2)
        SELECT coalesce(e.symbol, c.symbol), coalesce(e.bucket, c.bucket)::text
        FROM expected e FULL JOIN market_candles c ON c.symbol = e.symbol AND c.bucket = e.bucket
        WHERE (e.open, e.high, e.low, e.close, e.volume, e.trade_count, e.turnover, e.vwap, e.first_seq, e.last_seq)
              IS DISTINCT FROM (c.open, c.high, c.low, c.close, c.volume, c.trade_count, c.turnover, c.vwap, c.first_seq, c.last_seq)
        ORDER BY 2, 1 LIMIT 20
        """).rows
    let count = try db.execute("SELECT count(*) FROM market_candles").rows[0][0].flatMap { Int($0) } ?? 0
    return (count, mismatches)
}

/// Compares the 5m/1h/1d views with an aggregation of `market_candles` written here another way
/// (bucket starts from epoch arithmetic, first and last minute by DISTINCT ON); returns how many
/// longer candles there are and the (interval, symbol, start) of every difference, either way.
public func rollupsAgainstMinutes(_ db: LibpqConnection) throws -> (candles: Int, mismatches: [[String?]]) {
    var count = 0
    var mismatches: [[String?]] = []
    // Istanbul is UTC+3 all year since 2016; the minutes these tests write are later than that.
    for (name, seconds, offset) in [("5m", 300, 0), ("1h", 3_600, 0), ("1d", 86_400, 10_800)] {
        let start = "to_timestamp(floor((extract(epoch FROM bucket) + \(offset)) / \(seconds)) * \(seconds) - \(offset))"
        let rows = try db.execute("""
            WITH m AS (SELECT *, \(start) AS start FROM market_candles),
            firsts AS (SELECT DISTINCT ON (symbol, start) symbol, start, open, first_seq FROM m ORDER BY symbol, start, bucket),
            lasts AS (SELECT DISTINCT ON (symbol, start) symbol, start, close, last_seq FROM m ORDER BY symbol, start, bucket DESC),
            sums AS (SELECT symbol, start, max(high) AS high, min(low) AS low, sum(volume) AS volume, sum(trade_count) AS trade_count,
                            sum(turnover) AS turnover FROM m GROUP BY 1, 2),
            expected AS (SELECT s.symbol, s.start, f.open, s.high, s.low, l.close, s.volume, s.trade_count, s.turnover,
                                round(s.turnover / s.volume) AS vwap, f.first_seq, l.last_seq
                         FROM sums s JOIN firsts f USING (symbol, start) JOIN lasts l USING (symbol, start))
            SELECT '\(name)', coalesce(e.symbol, v.symbol), coalesce(e.start, v.bucket)::text
            FROM expected e FULL JOIN market_candles_\(name) v ON v.symbol = e.symbol AND v.bucket = e.start
            WHERE (e.open, e.high, e.low, e.close, e.volume, e.trade_count, e.turnover, e.vwap, e.first_seq, e.last_seq)
                  IS DISTINCT FROM (v.open, v.high, v.low, v.close, v.volume, v.trade_count, v.turnover, v.vwap, v.first_seq, v.last_seq)
            ORDER BY 3, 2 LIMIT 20
            """).rows
        mismatches += rows
        count += try db.execute("SELECT count(*) FROM market_candles_\(name)").rows[0][0].flatMap { Int($0) } ?? 0
    }
    return (count, mismatches)
}

/// Compares each top-of-book snapshot (of `symbol`, or of every symbol) with the stored ticks that
/// had arrived before the market first passed its time: the trades and the last quote with a time
/// before the row's, among the ticks whose sequence number is below that of the first tick at or
/// after it (sequence numbers must follow arrival: one feed). Returns the (symbol, time) of every
/// row that differs.
public func snapshotsAgainstTicks(_ db: LibpqConnection, symbol: String? = nil) throws -> [[String?]] {
    try db.execute("""
        SELECT s.symbol, s.time::text FROM order_book_snapshots s
        CROSS JOIN LATERAL (SELECT coalesce(min(seq), 9223372036854775807) AS passed FROM market_ticks t WHERE t.time >= s.time) p
        CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(volume), 0) AS v, (array_agg(price ORDER BY time DESC, seq DESC))[1] AS last
                            FROM market_ticks t WHERE t.symbol = s.symbol AND t.kind = 1 AND t.time < s.time AND t.seq < p.passed) e
        CROSS JOIN LATERAL (SELECT (array_agg(bid ORDER BY time DESC, seq DESC))[1] AS bid, (array_agg(ask ORDER BY time DESC, seq DESC))[1] AS ask
                            FROM market_ticks t WHERE t.symbol = s.symbol AND t.kind = 2 AND t.time < s.time AND t.seq < p.passed) q
        WHERE ($1::text IS NULL OR s.symbol = $1)
          AND (s.trade_count, s.volume, s.last_price, s.bid, s.ask) IS DISTINCT FROM (e.n, e.v, e.last, q.bid, q.ask)
        ORDER BY 2, 1 LIMIT 10
        """, parameters: [symbol]).rows
}
