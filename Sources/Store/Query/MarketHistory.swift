import Foundation
import Ingest
import Synchronization

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

/// Reads stored history for the HTTP API. Blocking (libpq): call it from a thread pool, never from
/// an event loop. Keeps up to `connections` idle connections and opens more when all are busy;
/// a connection that broke is dropped, so the next call reconnects.
public final class MarketHistory: Sendable {
    private let conninfo: String
    private let idle = Mutex<[PostgresConnectionBox]>([])
    private let keep: Int

    public init(conninfo: String, connections: Int = 4) {
        self.conninfo = conninfo
        self.keep = connections
    }

    /// A page of ticks. After a cursor, the scan starts at the cursor's microsecond (an index
    /// range on (symbol, time)) and skips the ticks of that microsecond up to the cursor's.
    public func ticks(_ q: TickQuery) throws -> [StoredTick] {
        var parameters = [q.symbol, String(Self.ceilingMicros(q.fromNanos)), String(Self.ceilingMicros(q.toNanos)), String(q.limit)]
        var after = ""
        if let cursor = q.after {
            parameters += [String(cursor.timeMicros), String(cursor.feed), String(Int64(bitPattern: cursor.sequence))]
            after = """
                 AND time >= TIMESTAMPTZ 'epoch' + $5::bigint * INTERVAL '1 microsecond'
                  AND (time, feed, seq) > (TIMESTAMPTZ 'epoch' + $5::bigint * INTERVAL '1 microsecond', $6::smallint, $7::bigint)
                """
        }
        let result = try withConnection { db in
            try db.execute("""
                SELECT (extract(epoch FROM time) * 1000000)::bigint, price, volume, bid, ask, feed, seq, kind, side,
                       (extract(epoch FROM receive_time) * 1000000)::bigint
                FROM market_ticks
                WHERE symbol = $1 AND time >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND time < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'\(after)
                ORDER BY time, feed, seq
                LIMIT $4
                """, parameters: parameters)
        }
        return try result.rows.map { r in
            var row = Row(r)
            return StoredTick(time: try row.micros(), price: try row.price(), volume: try row.int(), bid: try row.optionalPrice(),
                              ask: try row.optionalPrice(), feed: UInt16(try row.int()), sequence: UInt64(bitPattern: try row.int()),
                              kind: TickKind(rawValue: UInt8(try row.int())) ?? .trade,
                              side: TradeSide(rawValue: UInt8(try row.int())) ?? .unknown, receiveTime: try row.micros())
        }
    }

    /// Candles of any length are aggregated from the stored 1-minute candles when asked (on both
    /// layouts), so every minute the store holds is in them at once, whenever it was written.
    /// The scan is bounded on the minutes' own key: a candle starting in [from, to) is made of
    /// minutes in [from, to + its length), and the outer filter drops the partial groups at
    /// either end. An hour more covers a 25-hour Istanbul day of the years with DST.
    public func candles(_ q: CandleQuery) throws -> [StoredCandle] {
        let range = [q.symbol, String(Self.ceilingMicros(q.fromNanos)), String(Self.ceilingMicros(q.toNanos))]
        let span = String((q.interval.nanos + 3_600 * UTCTime.nanosPerSecond) / 1_000)
        let result = try withConnection { db in
            q.interval == .oneMinute ? try db.execute("""
                SELECT (extract(epoch FROM bucket) * 1000000)::bigint, open, high, low, close, volume, trade_count, vwap, first_seq, last_seq
                FROM market_candles
                WHERE symbol = $1 AND bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND bucket < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'
                ORDER BY bucket
                """, parameters: range) : try db.execute("""
                SELECT (extract(epoch FROM s.bucket) * 1000000)::bigint, s.open, s.high, s.low, s.close, s.volume, s.trade_count, s.vwap, s.first_seq, s.last_seq
                FROM (SELECT \(q.interval.bucketSQL) AS bucket, \(CandleInterval.aggregateColumnsSQL)
                      FROM market_candles c
                      WHERE c.symbol = $1 AND c.bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond'
                        AND c.bucket < TIMESTAMPTZ 'epoch' + ($3::bigint + $4::bigint) * INTERVAL '1 microsecond'
                      GROUP BY 1) s
                WHERE s.bucket >= TIMESTAMPTZ 'epoch' + $2::bigint * INTERVAL '1 microsecond' AND s.bucket < TIMESTAMPTZ 'epoch' + $3::bigint * INTERVAL '1 microsecond'
                ORDER BY s.bucket
                """, parameters: range + [span])
        }
        return try result.rows.map { r in
            var row = Row(r)
            return StoredCandle(start: try row.micros(), open: try row.price(), high: try row.price(), low: try row.price(),
                                close: try row.price(), volume: try row.int(), tradeCount: try row.int(), vwap: try row.price(),
                                firstSequence: UInt64(bitPattern: try row.int()), lastSequence: UInt64(bitPattern: try row.int()))
        }
    }

    /// Storage keeps microseconds: rounding both bounds up makes [from, to) in nanoseconds select
    /// exactly the stored rows whose time lies in it.
    private static func ceilingMicros(_ nanos: Int64) -> Int64 {
        let (q, r) = nanos.quotientAndRemainder(dividingBy: 1_000)
        return r > 0 ? q + 1 : q
    }

    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let db = try idle.withLock { $0.popLast() }?.connection ?? PostgresConnection(conninfo: conninfo)
        do {
            let value = try body(db)
            release(db)
            return value
        } catch {
            if db.isHealthy { release(db) }
            throw error
        }
    }

    private func release(_ db: PostgresConnection) {
        let box = PostgresConnectionBox(db)
        idle.withLock { if $0.count < keep { $0.append(box) } }
    }
}

/// A connection handed between threads through the pool; only one thread uses it at a time.
private struct PostgresConnectionBox: @unchecked Sendable {
    let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
}

/// Reads a text-format result row column by column.
private struct Row {
    let values: [String?]
    var index = 0
    init(_ values: [String?]) { self.values = values }

    mutating func next() throws -> String? {
        defer { index += 1 }
        guard index < values.count else { throw StoreError("history query returned too few columns") }
        return values[index]
    }

    mutating func int() throws -> Int64 {
        guard let text = try next(), let v = Int64(text) else { throw StoreError("history query returned a non-integer in column \(index)") }
        return v
    }

    mutating func micros() throws -> Int64 { try int() * 1_000 }
    mutating func price() throws -> Price { Price(units: try int()) }

    mutating func optionalPrice() throws -> Price? {
        guard let text = try next() else { return nil }
        guard let v = Int64(text) else { throw StoreError("history query returned a non-integer in column \(index)") }
        return Price(units: v)
    }
}
