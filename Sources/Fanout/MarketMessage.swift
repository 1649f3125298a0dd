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
}
