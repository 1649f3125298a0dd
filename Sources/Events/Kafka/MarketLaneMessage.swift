import Crypto
import Foundation
import Ingest

/// The market lane's Kafka messages, in the reference's envelope, written straight into bytes
/// (one per tick at full feed rate: no allocation per message). Keyed by symbol.
///
/// A tick is the reference's **MarketDataReceived** (`symbol`, `price`, `volume`, `timestamp`,
/// `source`), with what else the tick carries: `kind`, `side`, `bid`/`ask` when the feed sent
/// them, `feed` and `seq`. (Closed candles reach `market-events` as CandleClosed events through
/// the event store and the relay: `CandleClosedProducer`.)
///
/// `eventId` is derived from what the message is, so a message sent again after a restart or a
/// catch-up has the same id as the first time: consumers dedupe by it. A numbered tick's id is a
/// version 8 UUID holding its feed, sequence number (low 48 bits) and exchange time in
/// microseconds; an unnumbered one's is the first 16 bytes of SHA-256 over what it is.
public enum MarketLaneMessage {
    /// A name as a JSON string (quoted, escaped), made once and written into many messages.
    public struct Quoted: Sendable {
        public let bytes: [UInt8]
        public init(_ text: String) { bytes = Array(JSONText.string(text).utf8) }
    }

    /// Writes a tick's envelope into `out` (cleared first). `source` is the feed's name.
    /// Times are written to the microsecond, as the store keeps them: a tick sent live and sent
    /// again from the store are the same bytes.
    public static func tick(_ t: Tick, symbol: Quoted, source: Quoted, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        let micros = UTCTime.floor(t.exchangeTime, toMultipleOf: 1_000) / 1_000
        let id: UUID
        if t.sequence > 0 {
            id = numberedTickID(feed: t.feed, sequence: t.sequence, micros: micros)
        } else {
            var seed: [UInt8] = [1]
            append(UInt64(t.feed), to: &seed)
            append(UInt64(bitPattern: micros), to: &seed)
            seed += symbol.bytes
            append(UInt64(bitPattern: t.price.units), to: &seed)
            append(UInt64(bitPattern: t.quantity), to: &seed)
            id = hashedID(seed)
        }
        head(id: id, type: "MarketDataReceived", into: &out)
        let timeStart = out.count
        UTCTime.appendISO8601(micros * 1_000, to: &out)
        let timeEnd = out.count
        out.append(contentsOf: #"","version":"1.0","data":{"#.utf8)
        out.append(contentsOf: #""symbol":"#.utf8)
        out += symbol.bytes
        out.append(contentsOf: #","price":"#.utf8)
        ScaledDecimal.append(t.price.units, scale: Price.scale, to: &out)
        out.append(contentsOf: #","volume":"#.utf8)
        appendInteger(t.quantity, to: &out)
        out.append(contentsOf: #","timestamp":""#.utf8)
        for i in timeStart..<timeEnd { out.append(out[i]) }
        out.append(contentsOf: #"","source":"#.utf8)
        out += source.bytes
        out.append(contentsOf: t.kind == .trade ? #","kind":"trade""#.utf8 : #","kind":"quote""#.utf8)
        switch t.side {
        case .buy: out.append(contentsOf: #","side":"buy""#.utf8)
        case .sell: out.append(contentsOf: #","side":"sell""#.utf8)
        case .unknown: break
        }
        if t.bid != .zero {
            out.append(contentsOf: #","bid":"#.utf8)
            ScaledDecimal.append(t.bid.units, scale: Price.scale, to: &out)
        }
        if t.ask != .zero {
            out.append(contentsOf: #","ask":"#.utf8)
            ScaledDecimal.append(t.ask.units, scale: Price.scale, to: &out)
        }
        out.append(contentsOf: #","feed":"#.utf8)
        appendInteger(Int64(t.feed), to: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        ScaledDecimal.appendDigits(t.sequence, to: &out)
        out.append(contentsOf: "}}".utf8)
    }

    /// Version 8 (RFC 9562): bytes 0-5 the sequence number's low 48 bits; then the version
    /// nibble, the feed's 16 bits, the variant, and 58 bits of microseconds since the epoch.
    static func numberedTickID(feed: UInt16, sequence: UInt64, micros: Int64) -> UUID {
        let s = sequence & 0xFFFF_FFFF_FFFF
        let f = UInt64(feed)
        let m = UInt64(bitPattern: micros) & ((1 << 58) - 1)
        let b = (UInt8(truncatingIfNeeded: s >> 40), UInt8(truncatingIfNeeded: s >> 32), UInt8(truncatingIfNeeded: s >> 24),
                 UInt8(truncatingIfNeeded: s >> 16), UInt8(truncatingIfNeeded: s >> 8), UInt8(truncatingIfNeeded: s),
                 0x80 | UInt8(truncatingIfNeeded: f >> 12), UInt8(truncatingIfNeeded: f >> 4),
                 0x80 | UInt8(truncatingIfNeeded: (f & 0xF) << 2) | UInt8(truncatingIfNeeded: m >> 56),
                 UInt8(truncatingIfNeeded: m >> 48), UInt8(truncatingIfNeeded: m >> 40), UInt8(truncatingIfNeeded: m >> 32),
                 UInt8(truncatingIfNeeded: m >> 24), UInt8(truncatingIfNeeded: m >> 16), UInt8(truncatingIfNeeded: m >> 8),
                 UInt8(truncatingIfNeeded: m))
        return UUID(uuid: b)
    }

    /// A version 8 UUID from the first 16 bytes of SHA-256 over `seed`.
    static func hashedID(_ seed: [UInt8]) -> UUID {
        var b = Array(SHA256.hash(data: seed).prefix(16))
        b[6] = 0x80 | (b[6] & 0x0F)
        b[8] = 0x80 | (b[8] & 0x3F)
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// `{"eventId":"…","eventType":"…","timestamp":"` (the caller writes the time and the rest).
    private static func head(id: UUID, type: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"eventId":""#.utf8)
        withUnsafeBytes(of: id.uuid) { bytes in
            for (i, byte) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        out.append(contentsOf: #"","eventType":""#.utf8)
        type.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: #"","timestamp":""#.utf8)
    }

    private static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        ScaledDecimal.appendDigits(v.magnitude, to: &out)
    }

    private static func append(_ v: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.bigEndian) { out += $0 }
    }
}
