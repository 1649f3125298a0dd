import Aggregator
import Ingest

/// The WebSocket messages the fan-out sends, in the platform document's JSON style
/// (`{"type":…,"data":{…}}`). Prices are exact decimals written from their scaled integers; times
/// are ISO 8601 UTC. Symbol names are safe to write unescaped (`SymbolTable` admits `A-Z0-9.` only).
public enum MarketMessage {
    /// `MARKET_TICK`: one trade or quote.
    public static func tick(_ t: Tick, symbol: String) -> String {
        var out = "{\"type\":\"MARKET_TICK\",\"data\":{\"symbol\":\"\(symbol)\",\"price\":\(t.price),\"volume\":\(t.quantity),"
        out += "\"timestamp\":\"\(UTCTime.formatISO8601(t.exchangeTime))\""
        if t.bid.units > 0 { out += ",\"bid\":\(t.bid)" }
        if t.ask.units > 0 { out += ",\"ask\":\(t.ask)" }
        return out + ",\"kind\":\"\(t.kind == .trade ? "trade" : "quote")\",\"seq\":\(t.sequence)}}"
    }

    /// `CANDLE`: a closed 1-minute candle, or a correction of one (`"corrected":true`: a late trade
    /// changed it; the newest message for a `symbol` and `start` wins).
    public static func candle(_ c: Candle, symbol: String, corrected: Bool) -> String {
        "{\"type\":\"CANDLE\",\"data\":{\"symbol\":\"\(symbol)\",\"interval\":\"1m\",\"open\":\(c.open),\"high\":\(c.high),"
            + "\"low\":\(c.low),\"close\":\(c.close),\"volume\":\(c.volume),\"start\":\"\(UTCTime.formatISO8601(c.start))\","
            + "\"tradeCount\":\(c.tradeCount),\"vwap\":\(c.vwap),\"corrected\":\(corrected)}}"
    }

    /// `DEPTH`: the best levels of a symbol's book (an exchange feed's), as of `timestamp`; sent to
    /// clients that subscribed with `"depth":true`, on subscription and whenever it changes (at
    /// most every depth interval of the feed).
    public static func depth(_ d: DepthSnapshot, symbol: String) -> String {
        func levels(_ l: [DepthSnapshot.Level]) -> String {
            l.map { "{\"price\":\($0.price),\"quantity\":\($0.quantity),\"orders\":\($0.orders)}" }.joined(separator: ",")
        }
        return "{\"type\":\"DEPTH\",\"data\":{\"symbol\":\"\(symbol)\",\"timestamp\":\"\(UTCTime.formatISO8601(d.time))\","
            + "\"bids\":[\(levels(d.bids))],\"asks\":[\(levels(d.asks))]}}"
    }

    /// `SNAPSHOT`: the latest state of the symbols a client just subscribed to (`data` is the body
    /// of `GET /api/market/latest`).
    public static func snapshot(_ snapshot: LatestPrices.Snapshot, names: [String], calendar: SessionCalendar) -> String {
        "{\"type\":\"SNAPSHOT\",\"data\":" + latest(snapshot, names: names, calendar: calendar) + "}"
    }

    /// `SUBSCRIBED` / `UNSUBSCRIBED`: the reply to a command, with what it changed and what the
    /// client is subscribed to now.
    public static func subscriptions(_ type: String, changed: [SymbolID], now: Set<SymbolID>, names: [String]) -> String {
        func list(_ ids: some Sequence<SymbolID>) -> String { ids.map { "\"\(names[Int($0.rawValue)])\"" }.joined(separator: ",") }
        return "{\"type\":\"\(type)\",\"data\":{\"symbols\":[\(list(changed))],\"subscriptions\":[\(list(now.sorted()))]}}"
    }

    /// `AUTHENTICATED`: the reply to a token the socket accepted, with the limits it carries.
    public static func authenticated(_ p: MarketDataPrincipal) -> String {
        "{\"type\":\"AUTHENTICATED\",\"data\":{\"userId\":\(JSONText.string(p.user)),\"subscriptionLevel\":\(JSONText.string(p.level)),"
            + "\"expiresAt\":\"\(UTCTime.formatISO8601(p.expiresNanos))\",\"symbolLimit\":\(p.symbolLimit),\"connectionLimit\":\(p.connectionLimit)}}"
    }

    /// `FEED_STATUS`, sent to every client: a feed reconnected and ticks between `from` and `to`
    /// may be missing (the feed has no sequence numbers to tell); an exchange feed's `symbols`
    /// are `STALE` (messages lost: their books, quotes and trades may be incomplete); or they are
    /// `FRESH` again (a new session started).
    public static func feedStatus(_ n: FeedNotice) -> String {
        var out = "{\"type\":\"FEED_STATUS\",\"data\":{\"feed\":\(JSONText.string(n.feed)),\"status\":\"\(n.status.rawValue)\","
        out += "\"possibleGap\":\(n.status != .fresh),\"from\":\"\(UTCTime.formatISO8601(n.disconnectedAt))\",\"to\":\"\(UTCTime.formatISO8601(n.reconnectedAt))\""
        if n.status != .reconnected { out += ",\"symbols\":[" + n.symbols.map(JSONText.string).joined(separator: ",") + "]" }
        if let reason = n.reason { out += ",\"reason\":\(JSONText.string(reason))" }
        return out + "}}"
    }

    /// `ERROR`: a message the server refused, or why it closes the connection.
    public static func error(_ message: String) -> String {
        "{\"type\":\"ERROR\",\"data\":{\"message\":\(JSONText.string(message))}}"
    }

    /// The latest state of some symbols, from memory: market time, trading day, session phase (from
    /// `calendar` at the market time; closed before any tick), and per symbol the last trade, top
    /// of book and the day's statistics.
    public static func latest(_ snapshot: LatestPrices.Snapshot, names: [String], calendar: SessionCalendar) -> String {
        let phase = snapshot.marketTime == 0 ? SessionPhase.closed : calendar.phase(at: snapshot.marketTime)
        func price(_ p: Price?) -> String { p.map { "\($0)" } ?? "null" }
        func time(_ nanos: Int64) -> String { "\"\(UTCTime.formatISO8601(nanos))\"" }
        var out = "{\"marketTime\":\(snapshot.marketTime == 0 ? "null" : time(snapshot.marketTime)),"
        out += "\"tradingDay\":\(snapshot.tradingDay.map { "\"\($0.date)\"" } ?? "null"),\"sessionPhase\":\"\(phase.rawValue)\",\"symbols\":["
        for (i, s) in snapshot.symbols.enumerated() {
            if i > 0 { out += "," }
            out += "{\"symbol\":\(JSONText.string(names[Int(s.symbol.rawValue)])),\"price\":\(price(s.lastPrice)),"
            out += "\"timestamp\":\(s.lastPrice == nil ? "null" : time(s.lastTradeTime)),\"lastVolume\":\(s.lastPrice == nil ? "null" : "\(s.lastTradeQuantity)"),"
            out += "\"bid\":\(price(s.bid)),\"ask\":\(price(s.ask)),\"quoteTime\":\(s.quoteTime == 0 ? "null" : time(s.quoteTime)),"
            out += "\"open\":\(price(s.open)),\"high\":\(price(s.high)),\"low\":\(price(s.low)),"
            out += "\"volume\":\(s.volume),\"tradeCount\":\(s.tradeCount),\"turnover\":\(JSONText.lira(s.turnover)),"
            out += "\"vwap\":\(price(s.vwap)),\"previousClose\":\(price(s.previousClose)),\"change\":\(price(s.change)),"
            out += "\"changePercent\":\(JSONText.percent(s.change, of: s.previousClose))}"
        }
        return out + "]}"
    }
}
