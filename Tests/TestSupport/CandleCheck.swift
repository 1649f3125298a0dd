import Store

/// Compares every stored 1-minute candle with the SQL aggregation of the stored trades of its
/// minute (open and close the first and last trade by sequence); returns how many candles there
/// are and the (symbol, minute) of every difference, either way (a minute with trades and no
/// candle counts too).
public func candlesAgainstTrades(_ db: PostgresConnection) throws -> (candles: Int, mismatches: [[String?]]) {
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
