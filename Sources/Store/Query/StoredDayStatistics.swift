import Aggregator
import Ingest

/// Rebuilds the trading day's statistics of every symbol from the stored ticks, for a process
/// that starts mid-session: the day is the one of the latest stored exchange time, its figures
/// come from that day's trades and quotes in `market_ticks`, and each symbol's previous close is
/// its last trade before the day began (a holiday or a day it did not trade is passed over).
/// The same SQL on both layouts.
public enum StoredDayStatistics {
    /// What a rebuild found and how long it took, for the log.
    public struct Report: Sendable, Equatable {
        public var statistics: DayStatistics
        public var storedTrades: Int64
        public var storedQuotes: Int64
        public var spooledTicks: Int
        public var durationNanos: Int64

        public var description: String {
            let withCloses = statistics.symbols.filter { $0.previousClose != nil }.count
            let traded = statistics.symbols.filter { $0.tradeCount > 0 }.count
            return "statistics: trading day \(statistics.day.date) rebuilt from \(storedTrades) stored trades and \(storedQuotes) quotes"
                + (spooledTicks > 0 ? " and \(spooledTicks) spooled ticks" : "")
                + " (\(traded) symbols traded, \(withCloses) with a previous close) in \(durationNanos / 1_000_000) ms"
        }
    }

    /// The day containing `latest` (an exchange time, ns), with `spooled` ticks (stored by no
    /// one yet) counted on top. Nil when that time falls on no trading day the calendar knows.
    public static func rebuild(on db: LibpqConnection, symbols: SymbolUniverse, calendar: SessionCalendar, latest: Int64,
                               spooled: [Tick] = []) throws -> Report? {
        let started = Clock.monotonicNanos()
        let newest = spooled.reduce(latest) { max($0, $1.exchangeTime) }
        guard let day = calendar.tradingDay(containing: newest) else { return nil }
        let count = symbols.count
        var out = DayStatistics(day: day, symbols: (0..<count).map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }, marketTime: 0)
        let from = UTCTime.formatISO8601(day.start)
        let to = UTCTime.formatISO8601(day.nextStart)
        var trades: Int64 = 0
        var quotes: Int64 = 0
        // The day's sums, in one pass over the day's ticks.
        let sums = try db.execute("""
            SELECT symbol, count(*) FILTER (WHERE kind = 1), max(price) FILTER (WHERE kind = 1), min(price) FILTER (WHERE kind = 1),
                   coalesce(sum(volume) FILTER (WHERE kind = 1), 0), coalesce(sum(price::numeric * volume) FILTER (WHERE kind = 1), 0)::text,
                   count(*) FILTER (WHERE kind = 2)
            FROM market_ticks WHERE time >= $1::timestamptz AND time < $2::timestamptz
            GROUP BY symbol
            """, parameters: [from, to])
        for row in sums.rows {
            guard let name = row[0], let id = symbols.id(for: name), Int(id.rawValue) < count else { continue }
            var s = out.symbols[Int(id.rawValue)]
            s.tradingDay = day.day
            s.tradeCount = Int64(row[1] ?? "") ?? 0
            s.high = row[2].flatMap(Int64.init).map(Price.init(units:))
            s.low = row[3].flatMap(Int64.init).map(Price.init(units:))
            s.volume = Int64(row[4] ?? "") ?? 0
            s.turnover = Int128(row[5] ?? "") ?? 0
            trades += s.tradeCount
            quotes += Int64(row[6] ?? "") ?? 0
            out.symbols[Int(id.rawValue)] = s
        }
        // Per symbol, by exchange time then sequence number (index probes on (symbol, time)): the
        // day's first and last trade and last quote, and the last trade and quote before the day
        // (the previous close; the last price and top of book of a symbol quiet so far today).
        let names = (0..<count).map { symbols.name(of: SymbolID(UInt32($0))) }
        let points = try db.execute("""
            SELECT s.symbol, o.price, l.price, l.volume, \(micros("l")), q.bid, q.ask, \(micros("q")),
                   c.price, c.volume, \(micros("c")), p.bid, p.ask, \(micros("p"))
            FROM unnest($1::text[]) AS s(symbol)
            LEFT JOIN LATERAL (\(probe("price", kind: 1, after: true, descending: false))) AS o ON true
            LEFT JOIN LATERAL (\(probe("price, volume, time", kind: 1, after: true, descending: true))) AS l ON true
            LEFT JOIN LATERAL (\(probe("bid, ask, time", kind: 2, after: true, descending: true))) AS q ON true
            LEFT JOIN LATERAL (\(probe("price, volume, time", kind: 1, after: false, descending: true))) AS c ON true
            LEFT JOIN LATERAL (\(probe("bid, ask, time", kind: 2, after: false, descending: true))) AS p ON true
            WHERE l.time IS NOT NULL OR q.time IS NOT NULL OR c.time IS NOT NULL OR p.time IS NOT NULL
            """, parameters: ["{" + names.map { "\"\($0)\"" }.joined(separator: ",") + "}", from, to])
        var closeTimes = [Int64](repeating: .min, count: count)
        for row in points.rows {
            guard let name = row[0], let id = symbols.id(for: name), Int(id.rawValue) < count else { continue }
            let n = row.map { $0.flatMap { Int64($0) } }
            var s = out.symbols[Int(id.rawValue)]
            s.tradingDay = day.day
            s.open = n[1].map(Price.init(units:))
            if let price = n[2], let quantity = n[3], let time = n[4] {
                (s.lastPrice, s.lastTradeQuantity, s.lastTradeTime) = (Price(units: price), quantity, time * 1_000)
            } else if let price = n[8], let quantity = n[9], let time = n[10] {
                (s.lastPrice, s.lastTradeQuantity, s.lastTradeTime) = (Price(units: price), quantity, time * 1_000)
            }
            if let time = n[7] {
                (s.bid, s.ask, s.quoteTime) = (n[5].map(Price.init(units:)), n[6].map(Price.init(units:)), time * 1_000)
            } else if let time = n[13] {
                (s.bid, s.ask, s.quoteTime) = (n[11].map(Price.init(units:)), n[12].map(Price.init(units:)), time * 1_000)
            }
            if let price = n[8], let time = n[10] {
                s.previousClose = Price(units: price)
                closeTimes[Int(id.rawValue)] = time * 1_000
            }
            out.marketTime = max(out.marketTime, n[4].map { $0 * 1_000 } ?? 0, n[7].map { $0 * 1_000 } ?? 0)
            out.symbols[Int(id.rawValue)] = s
        }
        for tick in spooled { out.apply(tick, previousCloseTimes: &closeTimes) }
        for i in out.symbols.indices { out.symbols[i].changed = false }
        return Report(statistics: out, storedTrades: trades, storedQuotes: quotes, spooledTicks: spooled.count,
                      durationNanos: Clock.monotonicNanos() - started)
    }

    /// One tick of `s.symbol` of `kind`: the first or last of the day (`after`), or the last before it.
    private static func probe(_ columns: String, kind: Int, after: Bool, descending: Bool) -> String {
        "SELECT \(columns) FROM market_ticks t WHERE t.symbol = s.symbol AND t.kind = \(kind) AND "
            + (after ? "t.time >= $2::timestamptz AND t.time < $3::timestamptz" : "t.time < $2::timestamptz")
            + (descending ? " ORDER BY t.time DESC, t.seq DESC LIMIT 1" : " ORDER BY t.time, t.seq LIMIT 1")
    }

    private static func micros(_ alias: String) -> String { "(extract(epoch FROM \(alias).time) * 1000000)::bigint" }
}
