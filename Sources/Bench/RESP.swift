/// The part of Redis's protocol (RESP2) a pub/sub baseline needs: commands out (here), and the
/// arrays Redis pushes to a subscriber in (`RESPScanner`).
public enum RESP {
    /// Appends a command as an array of bulk strings (`*N\r\n$len\r\n…\r\n`).
    public static func appendCommand(_ parts: [[UInt8]], to out: inout [UInt8]) {
        out.append(contentsOf: Array("*\(parts.count)\r\n".utf8))
        for part in parts {
            out.append(contentsOf: Array("$\(part.count)\r\n".utf8))
            out.append(contentsOf: part)
            out.append(contentsOf: [13, 10])
        }
    }
}

/// Reads what Redis sends a subscriber where it lies: arrays of bulk strings and integers (pushes),
/// or a lone error or status line. Anything else is a protocol error. (A load generator that
/// allocated per message would cost as much as the server it measures.)
public enum RESPScanner {
    /// One element of a message, as a range of the scanned bytes.
    public enum Element: Equatable, Sendable {
        case bulk(Range<Int>)
        case integer(Int64)
        case simple(Range<Int>)
        case error(Range<Int>)
        case null
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Calls `message` for every whole message at the front of `b` (its elements valid only during
    /// the call); returns the bytes they took.
    public static func scan(_ b: UnsafeRawBufferPointer, message: (UnsafeRawBufferPointer, [Element]) throws -> Void) throws -> Int {
        var at = 0
        var elements: [Element] = []
        elements.reserveCapacity(4)
        while at < b.count {
            elements.removeAll(keepingCapacity: true)
            var i = at
            if b[i] == UInt8(ascii: "*") {
                guard let (count, next) = try number(b, at: i) else { break }
                i = next
                var complete = true
                for _ in 0..<max(0, count) {
                    guard let (element, next) = try element(b, at: i) else { complete = false; break }
                    elements.append(element)
                    i = next
                }
                guard complete else { break }
            } else {
                guard let (element, next) = try element(b, at: i) else { break }
                elements.append(element)
                i = next
            }
            try message(b, elements)
            at = i
        }
        return at
    }

    private static func element(_ b: UnsafeRawBufferPointer, at i: Int) throws -> (Element, Int)? {
        guard i < b.count else { return nil }
        switch b[i] {
        case UInt8(ascii: "$"):
            guard let (length, start) = try number(b, at: i) else { return nil }
            if length < 0 { return (.null, start) }
            let end = start + Int(length)
            guard end + 2 <= b.count else { return nil }
            guard b[end] == 13, b[end + 1] == 10 else { throw ProtocolError(description: "a RESP bulk string not ended by CRLF") }
            return (.bulk(start..<end), end + 2)
        case UInt8(ascii: ":"):
            return try number(b, at: i).map { (.integer($0.0), $0.1) }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            var j = i + 1
            while j < b.count && b[j] != 10 { j += 1 }
            guard j < b.count else { return nil }
            guard j >= i + 2, b[j - 1] == 13 else { throw ProtocolError(description: "a RESP line not ended by CRLF") }
            return (b[i] == UInt8(ascii: "+") ? .simple((i + 1)..<(j - 1)) : .error((i + 1)..<(j - 1)), j + 1)
        default:
            throw ProtocolError(description: "unexpected RESP type byte \(b[i])")
        }
    }

    /// A type byte and a decimal number ended by CRLF (`*3`, `$7`, `:1`); nil if incomplete.
    private static func number(_ b: UnsafeRawBufferPointer, at start: Int) throws -> (Int64, Int)? {
        var i = start + 1
        var negative = false
        if i < b.count && b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var value: Int64 = 0
        var digits = 0
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            guard digits < 18 else { throw ProtocolError(description: "a RESP number longer than 18 digits") }
            value = value * 10 + Int64(b[i] - 0x30)
            digits += 1
            i += 1
        }
        guard i + 1 < b.count else { return nil }
        guard digits > 0, b[i] == 13, b[i + 1] == 10 else { throw ProtocolError(description: "a RESP length or integer that is not a number") }
        return (negative ? -value : value, i + 2)
    }
}
