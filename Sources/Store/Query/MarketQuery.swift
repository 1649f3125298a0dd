import Ingest

/// A history request that cannot be served, with the HTTP status it deserves and a message that
/// names the offending parameter.
public struct QueryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 400 for a malformed request, 404 for a symbol the daemon does not know.
    public let status: Int
    public let message: String

    public init(status: Int = 400, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

/// Stored ticks of one symbol with exchange time in [from, to), oldest first (by time, feed,
/// sequence), at most `limit`, and only those after `after` when it is given: the next page.
public struct TickQuery: Sendable, Equatable {
    public var symbol: String
    public var fromNanos: Int64
    public var toNanos: Int64
    public var limit: Int
    public var after: TickCursor?

    public init(symbol: String, fromNanos: Int64, toNanos: Int64, limit: Int, after: TickCursor? = nil) {
        self.symbol = symbol
        self.fromNanos = fromNanos
        self.toNanos = toNanos
        self.limit = limit
        self.after = after
    }

    public static let defaultLimit = 1_000
    public static let maximumLimit = 10_000
    /// Without `from`, the hour before `to`.
    public static let defaultWindowNanos: Int64 = 3_600 * UTCTime.nanosPerSecond
}

/// A place in one symbol's stored ticks: the (time, feed, sequence) of a tick, which is unique
/// and is the order ticks are served in. A page of ticks ends with the cursor of its last tick;
/// asking again with it returns the ticks after that one, so paging misses none, however many
/// share a microsecond. Written `MICROS-FEED-SEQ` in decimal.
public struct TickCursor: Sendable, Equatable, CustomStringConvertible {
    public var timeMicros: Int64
    public var feed: UInt16
    public var sequence: UInt64

    public init(timeMicros: Int64, feed: UInt16, sequence: UInt64) {
        self.timeMicros = timeMicros
        self.feed = feed
        self.sequence = sequence
    }

    /// The cursor of `tick`: the next page starts after it.
    public init(after tick: StoredTick) {
        self.init(timeMicros: tick.time / 1_000, feed: tick.feed, sequence: tick.sequence)
    }

    /// Parses `MICROS-FEED-SEQ`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
              let time = Int64(parts[0]), let feed = UInt16(parts[1]), let sequence = UInt64(parts[2]) else { return nil }
        self.init(timeMicros: time, feed: feed, sequence: sequence)
    }

    public var description: String { "\(timeMicros)-\(feed)-\(sequence)" }
}

/// The candle lengths served: the stored 1-minute candles and the views built on them.
public enum CandleInterval: String, Sendable, CaseIterable {
    case oneMinute = "1m"
    case fiveMinutes = "5m"
    case oneHour = "1h"
    case oneDay = "1d"

    /// The start of the candle of this length that holds the 1-minute candle `c.bucket`, as SQL:
    /// UTC multiples of the length, and Istanbul days for `1d` (the market's trading days).
    /// The `market_candles_5m/_1h/_1d` views and the history API group by the same expression.
    public var bucketSQL: String {
        switch self {
        case .oneMinute: "c.bucket"
        case .fiveMinutes: "date_bin(INTERVAL '5 minutes', c.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
        case .oneHour: "date_bin(INTERVAL '1 hour', c.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
        case .oneDay: "(date_trunc('day', c.bucket AT TIME ZONE 'Europe/Istanbul') AT TIME ZONE 'Europe/Istanbul')"
        }
    }

    /// The columns of a longer candle, aggregated from the 1-minute candles `c` grouped by
    /// `bucketSQL`: first open and last close by minute, extremes, sums, and the VWAP recomputed
    /// from the exact turnover (rounded half away from zero, as the 1-minute VWAP is).
    static let aggregateColumnsSQL = """
        (array_agg(c.open ORDER BY c.bucket))[1] AS open, max(c.high) AS high, min(c.low) AS low,
        (array_agg(c.close ORDER BY c.bucket DESC))[1] AS close,
        sum(c.volume)::bigint AS volume, sum(c.trade_count)::bigint AS trade_count, sum(c.turnover) AS turnover,
        round(sum(c.turnover) / sum(c.volume))::bigint AS vwap,
        (array_agg(c.first_seq ORDER BY c.bucket))[1] AS first_seq, (array_agg(c.last_seq ORDER BY c.bucket DESC))[1] AS last_seq
        """

    public var nanos: Int64 {
        let minute = 60 * UTCTime.nanosPerSecond
        switch self {
        case .oneMinute: return minute
        case .fiveMinutes: return 5 * minute
        case .oneHour: return 60 * minute
        case .oneDay: return 1_440 * minute
        }
    }
}

/// Candles of one symbol whose start is in [from, to), oldest first.
public struct CandleQuery: Sendable, Equatable {
    public var symbol: String
    public var interval: CandleInterval
    public var fromNanos: Int64
    public var toNanos: Int64

    public init(symbol: String, interval: CandleInterval, fromNanos: Int64, toNanos: Int64) {
        self.symbol = symbol
        self.interval = interval
        self.fromNanos = fromNanos
        self.toNanos = toNanos
    }

    /// A range may span at most this many candles of its interval.
    public static let maximumCandles: Int64 = 10_000
    /// Without `from`, this many candles before `to`.
    public static let defaultCandles: Int64 = 500
}

/// Turns query-string parameters into validated queries. Pure: no I/O, `now` is passed in.
public struct MarketQueryParser: Sendable {
    /// The daemon's symbols; they may grow while it runs.
    public let symbols: SymbolUniverse

    public init(symbols: SymbolUniverse) { self.symbols = symbols }

    /// `symbol` (required), `from`, `to` (ISO 8601; default: the hour up to now), `limit`
    /// (1...10000), `after` (the `next` cursor of the previous page).
    public func ticks(_ parameters: [(String, String)], now: Int64) throws(QueryError) -> TickQuery {
        var p = try QueryParameters(parameters, allowed: ["symbol", "from", "to", "limit", "after"])
        let symbol = try self.symbol(p.take("symbol"))
        let (from, to) = try range(&p, now: now, defaultWindow: TickQuery.defaultWindowNanos)
        var limit = TickQuery.defaultLimit
        if let text = p.take("limit") {
            guard let n = Int(text), (1...TickQuery.maximumLimit).contains(n) else {
                throw QueryError("limit must be a whole number from 1 to \(TickQuery.maximumLimit), not \(Sanitized(text))")
            }
            limit = n
        }
        var after: TickCursor?
        if let text = p.take("after") {
            guard let cursor = TickCursor(text) else {
                throw QueryError("after must be the next cursor of a previous page (such as 1727172000000125-1-81234), not \(Sanitized(text))")
            }
            after = cursor
        }
        return TickQuery(symbol: symbol, fromNanos: from, toNanos: to, limit: limit, after: after)
    }

    /// `symbol` and `interval` (1m, 5m, 1h, 1d) required; `from`, `to` (ISO 8601; default: the
    /// 500 candles up to now). The range may span at most 10,000 candles.
    public func candles(_ parameters: [(String, String)], now: Int64) throws(QueryError) -> CandleQuery {
        var p = try QueryParameters(parameters, allowed: ["symbol", "interval", "from", "to"])
        let symbol = try self.symbol(p.take("symbol"))
        guard let text = p.take("interval") else {
            throw QueryError("interval is required: one of \(CandleInterval.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let interval = CandleInterval(rawValue: text) else {
            throw QueryError("interval must be one of \(CandleInterval.allCases.map(\.rawValue).joined(separator: ", ")), not \(Sanitized(text))")
        }
        let (from, to) = try range(&p, now: now, defaultWindow: CandleQuery.defaultCandles * interval.nanos)
        let (span, overflow) = to.subtractingReportingOverflow(from)
        guard !overflow, span / interval.nanos <= CandleQuery.maximumCandles else {
            throw QueryError("from..to spans more than \(CandleQuery.maximumCandles) candles of \(interval.rawValue); ask for a shorter range or a longer interval")
        }
        return CandleQuery(symbol: symbol, interval: interval, fromNanos: from, toNanos: to)
    }

    /// `symbols`: a comma-separated list (at most 1,000), or absent for every symbol. Returns the
    /// ids in the order asked, without repeats.
    public func latest(_ parameters: [(String, String)]) throws(QueryError) -> [SymbolID] {
        var p = try QueryParameters(parameters, allowed: ["symbols"])
        guard let text = p.take("symbols") else { return symbols.ingestedNames.map(\.id) }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= 1_000 else { throw QueryError("symbols lists \(names.count) symbols; at most 1000 per request") }
        var ids: [SymbolID] = []
        for name in names {
            guard !name.isEmpty else { throw QueryError("symbols has an empty entry; write them like symbols=GARAN,AKBNK") }
            let id = symbols.id(for: try symbol(name))!
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    private func symbol(_ text: String?) throws(QueryError) -> String {
        guard let text, !text.isEmpty else { throw QueryError("symbol is required") }
        guard symbols.id(for: text) != nil else {
            throw SymbolTable.isValid(text)
                ? QueryError(status: 404, "unknown symbol \(text): not one of the \(symbols.ingestedCount) symbols this daemon ingests")
                : QueryError("symbol \(Sanitized(text)) is not a symbol: 1 to \(SymbolTable.maximumLength) capital letters and digits")
        }
        return text
    }

    private func range(_ p: inout QueryParameters, now: Int64, defaultWindow: Int64) throws(QueryError) -> (Int64, Int64) {
        let to = try p.take("to").map { (t: String) throws(QueryError) in try time("to", t) } ?? now
        let from = try p.take("from").map { (t: String) throws(QueryError) in try time("from", t) } ?? max(0, to - defaultWindow)
        guard from < to else {
            throw QueryError("from (\(UTCTime.formatISO8601(from))) must be before to (\(UTCTime.formatISO8601(to)))")
        }
        return (from, to)
    }

    private func time(_ name: String, _ text: String) throws(QueryError) -> Int64 { try QueryParameters.time(name, text) }
}

