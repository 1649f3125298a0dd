import Ingest
import Store
import TestSupport
import Testing

@Suite struct MarketQueryParserTests {
    let parser = MarketQueryParser(symbols: SymbolUniverse(storeSymbols))
    let now: Int64 = 1_727_172_000_000_000_000  // 2024-09-24T10:00:00Z

    /// The QueryError `body` throws; nil when it throws nothing (or something else).
    func error(_ body: () throws -> Void) -> QueryError? {
        do { try body(); return nil } catch { return error as? QueryError }
    }

    @Test func ticksHaveSaneDefaults() throws {
        let q = try parser.ticks([("symbol", "GARAN")], now: now)
        #expect(q == TickQuery(symbol: "GARAN", fromNanos: now - 3_600_000_000_000, toNanos: now, limit: 1_000))
        let r = try parser.ticks([("symbol", "AKBNK"), ("from", "2024-09-24T13:30:00+03:00"), ("to", "2024-09-24T10:31:00.5Z"), ("limit", "10000")], now: now)
        #expect(r == TickQuery(symbol: "AKBNK", fromNanos: 1_727_173_800_000_000_000, toNanos: 1_727_173_860_500_000_000, limit: 10_000))
    }

    @Test func badTickParametersNameTheParameter() {
        #expect(error { _ = try parser.ticks([], now: now) } == QueryError("symbol is required"))
        #expect(error { _ = try parser.ticks([("symbol", "")], now: now) } == QueryError("symbol is required"))
        let unknown = error { _ = try parser.ticks([("symbol", "NOPE")], now: now) }
        #expect(unknown?.status == 404)
        #expect(unknown?.message.contains("unknown symbol NOPE") == true)
        let hostile = error { _ = try parser.ticks([("symbol", "x'; DROP TABLE market_ticks;--\u{1B}[31m")], now: now) }
        #expect(hostile?.status == 400)
        #expect(hostile?.message.contains("is not a symbol") == true)
        #expect(hostile?.message.contains("\u{1B}") == false, "control characters never echoed")
        #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("from", "yesterday")], now: now) }?.message.hasPrefix("from must be an ISO 8601 time") == true)
        #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("to", "2024-02-30T00:00:00Z")], now: now) }?.message.hasPrefix("to must be an ISO 8601 time") == true)
        #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("from", "2024-09-24T10:00:00Z"), ("to", "2024-09-24T10:00:00Z")], now: now) }?
            .message == "from (2024-09-24T10:00:00.000Z) must be before to (2024-09-24T10:00:00.000Z)")
        for limit in ["0", "10001", "-5", "12abc", "1e3"] {
            #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("limit", limit)], now: now) }?.message.hasPrefix("limit must be a whole number from 1 to 10000") == true, "\(limit)")
        }
        #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("sort", "desc")], now: now) }?.message == "unknown parameter \"sort\"; expected after, from, limit, symbol, to")
        #expect(error { _ = try parser.ticks([("symbol", "GARAN"), ("symbol", "AKBNK")], now: now) }?.message == "symbol is given more than once")
    }

    @Test func aCursorNamesTheTickAfterWhichThePageStarts() throws {
        let q = try parser.ticks([("symbol", "GARAN"), ("after", "1727172000000125-2-18446744073709551615")], now: now)
        #expect(q.after == TickCursor(timeMicros: 1_727_172_000_000_125, feed: 2, sequence: .max))
        #expect(q.after?.description == "1727172000000125-2-18446744073709551615")
        for bad in ["", "1-2", "1-2-3-4", "-1-2-3", "1--3", "a-1-2", "1-70000-2", "1-2-18446744073709551616", "1-+2-3", "１-2-3", "1-2-3\u{1B}"] {
            let e = error { _ = try parser.ticks([("symbol", "GARAN"), ("after", bad)], now: now) }
            #expect(e?.status == 400 && e?.message.hasPrefix("after must be the next cursor of a previous page") == true, "\(bad)")
            #expect(e?.message.contains("\u{1B}") == false)
        }
    }

    @Test func candleRequestsAreBounded() throws {
        let q = try parser.candles([("symbol", "THYAO"), ("interval", "5m")], now: now)
        #expect(q == CandleQuery(symbol: "THYAO", interval: .fiveMinutes, fromNanos: now - 500 * 300_000_000_000, toNanos: now))
        #expect(error { _ = try parser.candles([("symbol", "THYAO")], now: now) }?.message == "interval is required: one of 1m, 5m, 1h, 1d")
        #expect(error { _ = try parser.candles([("symbol", "THYAO"), ("interval", "15m")], now: now) }?.message == "interval must be one of 1m, 5m, 1h, 1d, not \"15m\"")
        // 10,000 one-minute candles fit; one more minute does not.
        let from = "2024-09-17T10:00:00Z"
        #expect(try parser.candles([("symbol", "THYAO"), ("interval", "1m"), ("from", "2024-09-17T09:20:00Z"), ("to", "2024-09-24T07:59:59Z")], now: now).interval == .oneMinute)
        #expect(error { _ = try parser.candles([("symbol", "THYAO"), ("interval", "1m"), ("from", "2024-09-10T00:00:00Z"), ("to", from)], now: now) }?
            .message.contains("spans more than 10000 candles of 1m") == true)
        #expect(try parser.candles([("symbol", "THYAO"), ("interval", "1d"), ("from", "2000-01-01T00:00:00Z")], now: now).interval == .oneDay)
    }
}
