import Glibc
import Ingest

/// What a bench subscriber needs from one `/ws/market-data` text message, read straight from its
/// bytes (no JSON tree: the client process must keep up with hundreds of thousands a second).
public enum StreamMessage: Equatable, Sendable {
    /// `MARKET_TICK`: its symbol (`nil`: not in the table), exchange time (ns) and feed sequence number.
    case tick(symbol: SymbolID?, exchangeTime: Int64, sequence: UInt64)
    case candle
    case subscribed
    case snapshot
    /// `ERROR`, with the server's text.
    case error(String)
    /// Another type, or a message that is not what the server sends: kept whole for the report.
    case other(String)

    public static func parse(_ text: UnsafeRawBufferPointer, symbols: SymbolTable) -> StreamMessage {
        guard let type = text.stringValue(after: "{\"type\":\"") else { return .other(String(decoding: text, as: UTF8.self)) }
        switch type {
        case "MARKET_TICK":
            if let tick = parseTick(text, symbols: symbols) { return tick }
        case "CANDLE": return .candle
        case "SUBSCRIBED": return .subscribed
        case "SNAPSHOT": return .snapshot
        case "ERROR": return .error(text.stringValue(after: "\"message\":\"") ?? String(decoding: text, as: UTF8.self))
        default: break
        }
        return .other(String(decoding: text, as: UTF8.self))
    }

    private static func parseTick(_ text: UnsafeRawBufferPointer, symbols: SymbolTable) -> StreamMessage? {
        // The daemon writes the symbol first and the sequence number last: look there first.
        let symbolKey: StaticString = "{\"type\":\"MARKET_TICK\",\"data\":{\"symbol\":\""
        let symbol = text.hasPrefix(symbolKey) ? text.stringValue(from: symbolKey.utf8CodeUnitCount) : text.range(ofValueAfter: "\"symbol\":\"")
        guard let symbol,
              let time = text.range(ofValueAfter: "\"timestamp\":\"", from: symbol.upperBound) ?? text.range(ofValueAfter: "\"timestamp\":\""),
              let exchangeTime = UTCTime.parseISO8601(UnsafeRawBufferPointer(rebasing: text[time])),
              let seqAt = text.lastRange(of: "\"seq\":")?.upperBound
        else { return nil }
        var sequence: UInt64 = 0
        var i = seqAt
        while i < text.count, text[i] >= 0x30, text[i] <= 0x39 {
            let (m, o1) = sequence.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(text[i] &- 0x30))
            guard !o1 && !o2 else { return nil }
            sequence = a
            i += 1
        }
        guard i > seqAt else { return nil }
        return .tick(symbol: symbols.id(forASCII: UnsafeRawBufferPointer(rebasing: text[symbol])), exchangeTime: exchangeTime, sequence: sequence)
    }
}

extension UnsafeRawBufferPointer {
    func hasPrefix(_ prefix: StaticString) -> Bool {
        count >= prefix.utf8CodeUnitCount && memcmp(baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    func firstRange(of needle: StaticString, from start: Int = 0) -> Range<Int>? {
        let n = needle.utf8CodeUnitCount
        guard n > 0, count >= n, start <= count - n else { return nil }
        let first = needle.utf8Start.pointee
        var i = start
        while i <= count - n {
            if self[i] == first && memcmp(baseAddress! + i, needle.utf8Start, n) == 0 { return i..<(i + n) }
            i += 1
        }
        return nil
    }

    func lastRange(of needle: StaticString) -> Range<Int>? {
        let n = needle.utf8CodeUnitCount
        guard n > 0, count >= n else { return nil }
        var i = count - n
        while i >= 0 {
            if memcmp(baseAddress! + i, needle.utf8Start, n) == 0 { return i..<(i + n) }
            i -= 1
        }
        return nil
    }

    /// The bytes of a JSON string value that follows `key` (which ends with its opening quote), up to
    /// its closing quote.
    func range(ofValueAfter key: StaticString, from start: Int = 0) -> Range<Int>? {
        guard let start = firstRange(of: key, from: start)?.upperBound else { return nil }
        return stringValue(from: start)
    }

    /// From `start` up to the next quote.
    func stringValue(from start: Int) -> Range<Int>? {
        var i = start
        while i < count && self[i] != UInt8(ascii: "\"") { i += 1 }
        return i < count ? start..<i : nil
    }

    func stringValue(after key: StaticString) -> String? {
        range(ofValueAfter: key).map { String(decoding: UnsafeRawBufferPointer(rebasing: self[$0]), as: UTF8.self) }
    }
}
