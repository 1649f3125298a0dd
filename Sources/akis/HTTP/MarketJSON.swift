import Aggregator
import Ingest
import Store

/// JSON bodies of the market history API. Prices are exact decimal numbers written from their
/// scaled integers (never through a floating point type); times are ISO 8601 UTC.
enum MarketJSON {
    static func ticks(_ q: TickQuery, _ rows: [StoredTick]) -> String {
        var out = "{\"symbol\":\(string(q.symbol)),\"from\":\(time(q.fromNanos)),\"to\":\(time(q.toNanos)),\"limit\":\(q.limit),"
        out += "\"count\":\(rows.count),\"truncated\":\(rows.count == q.limit),\"ticks\":["
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

    /// The latest state of the asked symbols, from memory.
    static func latest(_ snapshot: LatestPrices.Snapshot, names: (SymbolID) -> String, phase: SessionPhase) -> String {
        func price(_ p: Price?) -> String { p.map { "\($0)" } ?? "null" }
        var out = "{\"marketTime\":\(snapshot.marketTime == 0 ? "null" : time(snapshot.marketTime)),"
        out += "\"tradingDay\":\(snapshot.tradingDay.map { "\"\($0.date)\"" } ?? "null"),\"sessionPhase\":\"\(phase.rawValue)\",\"symbols\":["
        for (i, s) in snapshot.symbols.enumerated() {
            if i > 0 { out += "," }
            out += "{\"symbol\":\(string(names(s.symbol))),\"price\":\(price(s.lastPrice)),"
            out += "\"timestamp\":\(s.lastPrice == nil ? "null" : time(s.lastTradeTime)),\"lastVolume\":\(s.lastPrice == nil ? "null" : "\(s.lastTradeQuantity)"),"
            out += "\"bid\":\(price(s.bid)),\"ask\":\(price(s.ask)),\"quoteTime\":\(s.quoteTime == 0 ? "null" : time(s.quoteTime)),"
            out += "\"open\":\(price(s.open)),\"high\":\(price(s.high)),\"low\":\(price(s.low)),"
            out += "\"volume\":\(s.volume),\"tradeCount\":\(s.tradeCount),\"turnover\":\(lira(s.turnover)),"
            out += "\"vwap\":\(price(s.vwap)),\"previousClose\":\(price(s.previousClose)),\"change\":\(price(s.change)),"
            out += "\"changePercent\":\(percent(s.change, of: s.previousClose))}"
        }
        return out + "]}"
    }

    /// An exact amount in 10⁻⁶ TRY (128 bits) as a decimal number of lira.
    static func lira(_ units: Int128) -> String {
        let whole = units.magnitude / 1_000_000
        let fraction = units.magnitude % 1_000_000
        var out = (units < 0 ? "-" : "") + "\(whole)"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            out += "." + digits
        }
        return out
    }

    /// change / previous close in percent, rounded half away from zero to two decimals, exactly.
    static func percent(_ change: Price?, of base: Price?) -> String {
        guard let change, let base, base.units > 0 else { return "null" }
        let hundredths = ScaledDecimal.divideRoundingHalfAwayFromZero(Int128(change.units) * 10_000, by: Int128(base.units))
        return ScaledDecimal.format(Int64(hundredths), scale: 2)
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

    /// A JSON string literal; control characters, quotes and backslashes escaped.
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x2028 || u.value == 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
