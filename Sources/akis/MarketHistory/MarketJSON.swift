import Fanout
import Ingest
import Store

/// JSON bodies of the market history API. Prices are exact decimal numbers written from their
/// scaled integers (never through a floating point type); times are ISO 8601 UTC.
enum MarketJSON {
    static func ticks(_ q: TickQuery, _ rows: [StoredTick]) -> String {
        var out = "{\"symbol\":\(string(q.symbol)),\"from\":\(time(q.fromNanos)),\"to\":\(time(q.toNanos)),\"limit\":\(q.limit),"
        let next = rows.count == q.limit ? rows.last.map { "\"\(TickCursor(after: $0))\"" } ?? "null" : "null"
        if let after = q.after { out += "\"after\":\"\(after)\"," }
        out += "\"count\":\(rows.count),\"truncated\":\(rows.count == q.limit),\"next\":\(next),\"ticks\":["
        for (i, t) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "{\"symbol\":\(string(q.symbol)),\"timestamp\":\(time(t.time)),\"price\":\(t.price),\"volume\":\(t.volume),"
            out += "\"bid\":\(t.bid.map { "\($0)" } ?? "null"),\"ask\":\(t.ask.map { "\($0)" } ?? "null"),"
            out += "\"kind\":\"\(t.kind == .trade ? "trade" : "quote")\",\"side\":\"\(side(t.side))\","
            out += "\"feed\":\(t.feed),\"seq\":\(t.sequence),\"receivedAt\":\(time(t.receiveTime))}"
        }
        return out + "]}"
    }

    static func candles(_ q: CandleQuery, _ rows: [StoredCandle]) -> String {
        var out = "{\"symbol\":\(string(q.symbol)),\"interval\":\"\(q.interval.rawValue)\",\"from\":\(time(q.fromNanos)),"
        out += "\"to\":\(time(q.toNanos)),\"count\":\(rows.count),\"candles\":["
        for (i, c) in rows.enumerated() {
            if i > 0 { out += "," }
            out += "{\"symbol\":\(string(q.symbol)),\"interval\":\"\(q.interval.rawValue)\",\"start\":\(time(c.start)),"
            out += "\"open\":\(c.open),\"high\":\(c.high),\"low\":\(c.low),\"close\":\(c.close),\"volume\":\(c.volume),"
            out += "\"tradeCount\":\(c.tradeCount),\"vwap\":\(c.vwap),\"firstSeq\":\(c.firstSequence),\"lastSeq\":\(c.lastSequence)}"
        }
        return out + "]}"
    }

    static func error(_ message: String) -> String { "{\"error\":\(string(message))}" }

    private static func time(_ nanos: Int64) -> String { "\"\(UTCTime.formatISO8601(nanos))\"" }

    private static func side(_ s: TradeSide) -> String {
        switch s {
        case .unknown: "unknown"
        case .buy: "buy"
        case .sell: "sell"
        }
    }

    static func string(_ s: String) -> String { JSONText.string(s) }
}
