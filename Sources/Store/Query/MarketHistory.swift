import Ingest
import PostgresNIO

/// One row of `market_ticks` as clients get it back.
public struct StoredTick: Sendable, Equatable {
    public var time: Int64
    public var price: Price
    public var volume: Int64
    public var bid: Price?
    public var ask: Price?
    public var feed: UInt16
    public var sequence: UInt64
    public var kind: TickKind
    public var side: TradeSide
    public var receiveTime: Int64

    public init(time: Int64, price: Price, volume: Int64, bid: Price?, ask: Price?, feed: UInt16, sequence: UInt64,
                kind: TickKind, side: TradeSide, receiveTime: Int64) {
        self.time = time
        self.price = price
        self.volume = volume
        self.bid = bid
        self.ask = ask
        self.feed = feed
        self.sequence = sequence
        self.kind = kind
        self.side = side
        self.receiveTime = receiveTime
    }
}

/// One candle of `market_candles` or of its 5m/1h/1d views.
public struct StoredCandle: Sendable, Equatable {
    public var start: Int64
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Int64
    public var tradeCount: Int64
    public var vwap: Price
    public var firstSequence: UInt64
    public var lastSequence: UInt64

    public init(start: Int64, open: Price, high: Price, low: Price, close: Price, volume: Int64, tradeCount: Int64,
                vwap: Price, firstSequence: UInt64, lastSequence: UInt64) {
        self.start = start
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.tradeCount = tradeCount
        self.vwap = vwap
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
    }
}

/// Reads stored history for the HTTP API, asynchronously, through the daemon's postgres-nio pool
/// (`PostgresClient`, which the caller runs). Every value is a bound parameter.
public struct MarketHistory: Sendable {
    private let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// A page of ticks. After a cursor, the scan starts at the cursor's microsecond (an index
    /// range on (symbol, time)) and skips the ticks of that microsecond up to the cursor's.
    public func ticks(_ q: TickQuery) async throws -> [StoredTick] {
        var binds = PostgresBindings()
        binds.append(q.symbol)
        binds.append(Self.ceilingMicros(q.fromNanos))
        binds.append(Self.ceilingMicros(q.toNanos))
        binds.append(Int64(q.limit))
        var after = ""
        if let cursor = q.after {
            binds.append(cursor.timeMicros)
            binds.append(Int16(bitPattern: cursor.feed))
            binds.append(Int64(bitPattern: cursor.sequence))
            after = """
                 AND time >= TIMESTAMPTZ 'epoch' + $5::bigint * INTERVAL '1 microsecond'
                  AND (time, feed, seq) > (TIMESTAMPTZ 'epoch' + $5::bigint * INTERVAL '1 microsecond', $6::smallint, $7::bigint)
                """
        }
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            SELECT (extract(epoch FROM time) * 1000000)::bigint, price, volume, bid, ask, feed, seq, kind, side,
                   (extract(epoch FROM receive_time) * 1000000)::bigint
            FROM market_ticks
            WHERE symbol = $1 AND time >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND time < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'\(after)
            ORDER BY time, feed, seq
            LIMIT $4
            """, binds: binds))
        var out: [StoredTick] = []
        for try await (time, price, volume, bid, ask, feed, seq, kind, side, received)
            in rows.decode((Int64, Int64, Int64, Int64?, Int64?, Int16, Int64, Int16, Int16, Int64).self) {
            out.append(StoredTick(time: time * 1_000, price: Price(units: price), volume: volume, bid: bid.map(Price.init(units:)),
                                  ask: ask.map(Price.init(units:)), feed: UInt16(bitPattern: feed), sequence: UInt64(bitPattern: seq),
                                  kind: TickKind(rawValue: UInt8(truncatingIfNeeded: kind)) ?? .trade,
                                  side: TradeSide(rawValue: UInt8(truncatingIfNeeded: side)) ?? .unknown, receiveTime: received * 1_000))
        }
        return out
    }

    /// Candles of any length are aggregated from the stored 1-minute candles when asked (on both
    /// layouts), so every minute the store holds is in them at once, whenever it was written.
    /// The scan is bounded on the minutes' own key: a candle starting in [from, to) is made of
    /// minutes in [from, to + its length), and the outer filter drops the partial groups at
    /// either end. An hour more covers a 25-hour Istanbul day of the years with DST.
    public func candles(_ q: CandleQuery) async throws -> [StoredCandle] {
        var binds = PostgresBindings()
        binds.append(q.symbol)
        binds.append(Self.ceilingMicros(q.fromNanos))
        binds.append(Self.ceilingMicros(q.toNanos))
        let sql: String
        if q.interval == .oneMinute {
            sql = """
                SELECT (extract(epoch FROM bucket) * 1000000)::bigint, open, high, low, close, volume, trade_count::bigint, vwap, first_seq, last_seq
                FROM market_candles
                WHERE symbol = $1 AND bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND bucket < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'
                ORDER BY bucket
                """
        } else {
            binds.append((q.interval.nanos + 3_600 * UTCTime.nanosPerSecond) / 1_000)
            sql = """
                SELECT (extract(epoch FROM s.bucket) * 1000000)::bigint, s.open, s.high, s.low, s.close, s.volume, s.trade_count, s.vwap, s.first_seq, s.last_seq
                FROM (SELECT \(q.interval.bucketSQL) AS bucket, \(CandleInterval.aggregateColumnsSQL)
                      FROM market_candles c
                      WHERE c.symbol = $1 AND c.bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond'
                        AND c.bucket < TIMESTAMPTZ 'epoch' + ($3::bigint + $4::bigint) * INTERVAL '1 microsecond'
                      GROUP BY 1) s
                WHERE s.bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND s.bucket < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'
                ORDER BY s.bucket
                """
        }
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds))
        var out: [StoredCandle] = []
        for try await (start, open, high, low, close, volume, trades, vwap, first, last)
            in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            out.append(StoredCandle(start: start * 1_000, open: Price(units: open), high: Price(units: high), low: Price(units: low),
                                    close: Price(units: close), volume: volume, tradeCount: trades, vwap: Price(units: vwap),
                                    firstSequence: UInt64(bitPattern: first), lastSequence: UInt64(bitPattern: last)))
        }
        return out
    }

    /// Storage keeps microseconds: rounding both bounds up makes [from, to) in nanoseconds select
    /// exactly the stored rows whose time lies in it.
    private static func ceilingMicros(_ nanos: Int64) -> Int64 {
        let (q, r) = nanos.quotientAndRemainder(dividingBy: 1_000)
        return r > 0 ? q + 1 : q
    }
}
