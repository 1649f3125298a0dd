import Aggregator
import Crypto
import Foundation
import Ingest

/// The market lane's Kafka messages, in the reference's envelope, written straight into bytes
/// (one per tick at full feed rate). Keyed by symbol.
///
/// - A tick is the reference's **MarketDataReceived** (`symbol`, `price`, `volume`, `timestamp`,
///   `source`), with what else the tick carries: `kind`, `side`, `bid`/`ask` when the feed sent
///   them, `feed` and `seq`.
/// - A closed candle is **CandleClosed**: the minute (`start`, UTC), open, high, low, close,
///   volume, trades, and `corrected` (a late trade changed a candle already published).
///
/// `eventId` is derived from what the message is (feed, sequence number and time; symbol and
/// minute), so a message sent again after a restart or a catch-up has the same id as the first
/// time: consumers dedupe by it.
public enum MarketLaneMessage {
    /// Writes a tick's envelope into `out` (cleared first). `source` is the feed's name.
    public static func tick(_ t: Tick, symbol: String, source: String, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var seed: [UInt8] = [1]
        append(UInt64(t.feed), to: &seed)
        append(t.sequence, to: &seed)
        append(UInt64(bitPattern: t.exchangeTime), to: &seed)
        if t.sequence == 0 { seed += Array(symbol.utf8); append(t.price.units, to: &seed); append(t.quantity, to: &seed) }
        head(id: eventID(seed), type: EventType.marketDataReceived, time: t.exchangeTime, into: &out)
        field("symbol", string: symbol, &out)
        field("price", price: t.price, &out)
        field("volume", integer: t.quantity, &out)
        out += Array(#","timestamp":""#.utf8)
        UTCTime.appendISO8601(t.exchangeTime, to: &out)
        out.append(UInt8(ascii: "\""))
        field("source", string: source, &out)
        field("kind", string: t.kind == .trade ? "trade" : "quote", &out)
        if t.side != .unknown { field("side", string: t.side == .buy ? "buy" : "sell", &out) }
        if t.bid != .zero { field("bid", price: t.bid, &out) }
        if t.ask != .zero { field("ask", price: t.ask, &out) }
        field("feed", integer: Int64(t.feed), &out)
        field("seq", integer: Int64(bitPattern: t.sequence), &out)
        out += Array("}}".utf8)
    }

    /// Writes a closed (or corrected) candle's envelope into `out` (cleared first).
    public static func candle(_ c: Candle, symbol: String, corrected: Bool, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var seed: [UInt8] = [2]
        seed += Array(symbol.utf8)
        append(UInt64(bitPattern: c.start), to: &seed)
        if corrected { append(UInt64(c.tradeCount), to: &seed); append(c.lastSequence, to: &seed) }
        head(id: eventID(seed), type: EventType.candleClosed, time: c.start + Candle.minuteNanos, into: &out)
        field("symbol", string: symbol, &out)
        field("interval", string: "1m", &out)
        out += Array(#","start":""#.utf8)
        UTCTime.appendISO8601(c.start, to: &out)
        out.append(UInt8(ascii: "\""))
        field("open", price: c.open, &out)
        field("high", price: c.high, &out)
        field("low", price: c.low, &out)
        field("close", price: c.close, &out)
        field("volume", integer: c.volume, &out)
        field("trades", integer: c.tradeCount, &out)
        out += Array(#","corrected":"#.utf8) + Array((corrected ? "true" : "false").utf8)
        out += Array("}}".utf8)
    }

    /// A UUID (version 8, RFC 9562) from the first 16 bytes of SHA-256 over `seed`.
    static func eventID(_ seed: [UInt8]) -> UUID {
        var b = Array(SHA256.hash(data: seed).prefix(16))
        b[6] = 0x80 | (b[6] & 0x0F)
        b[8] = 0x80 | (b[8] & 0x3F)
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    private static func head(id: UUID, type: EventType, time: Int64, into out: inout [UInt8]) {
        out += Array(#"{"eventId":""#.utf8) + Array(id.uuidString.lowercased().utf8)
        out += Array(#"","eventType":""#.utf8) + Array(type.rawValue.utf8)
        out += Array(#"","timestamp":""#.utf8)
        UTCTime.appendISO8601(time, to: &out)
        out += Array(#"","version":""#.utf8) + Array(Event.version.utf8)
        out += Array(#"","data":{"#.utf8)
    }

    /// `"name":value`, with a comma before it unless it is the object's first field.
    private static func key(_ name: String, _ out: inout [UInt8]) {
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out += Array(name.utf8)
        out += Array(#"":"#.utf8)
    }

    private static func field(_ name: String, string: String, _ out: inout [UInt8]) {
        key(name, &out)
        out += Array(JSONText.string(string).utf8)
    }

    private static func field(_ name: String, price: Price, _ out: inout [UInt8]) {
        key(name, &out)
        ScaledDecimal.append(price.units, scale: Price.scale, to: &out)
    }

    private static func field(_ name: String, integer: Int64, _ out: inout [UInt8]) {
        key(name, &out)
        out += Array(String(integer).utf8)
    }

    private static func append(_ v: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out += $0 }
    }

    private static func append(_ v: Int64, to out: inout [UInt8]) { append(UInt64(bitPattern: v), to: &out) }
}
