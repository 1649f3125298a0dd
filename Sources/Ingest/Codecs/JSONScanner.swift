/// A minimal strict JSON reader over raw bytes, for the fixed shapes our feeds use.
/// It never allocates for the values it reads: strings and numbers come back as byte ranges.
package struct JSONScanner {
    package let b: UnsafeRawBufferPointer
    package var i = 0
    static let maximumDepth = 32

    package init(_ b: UnsafeRawBufferPointer) { self.b = b }

    package var atEnd: Bool { i >= b.count }

    /// Reads one whole JSON text with `body`: bytes after it, and every error, as a `FrameError`.
    package static func read(_ bytes: UnsafeRawBufferPointer, _ body: (inout JSONScanner) throws -> Void) -> FrameError? {
        var s = JSONScanner(bytes)
        do {
            try body(&s)
            s.skipWhitespace()
            guard s.atEnd else { throw FrameError.badJSON("unexpected bytes after the object at byte \(s.i)") }
            return nil
        } catch let error as FrameError {
            return error
        } catch {
            return .badJSON("\(error)")
        }
    }

    package mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    private func describeHere() -> String {
        i < b.count ? "\(Sanitized(bytes: b[i..<min(i + 12, b.count)])) at byte \(i)" : "end of line"
    }

    package mutating func expect(_ c: UInt8) throws {
        skipWhitespace()
        guard i < b.count, b[i] == c else {
            throw FrameError.badJSON("expected '\(Character(Unicode.Scalar(c)))' but found \(describeHere())")
        }
        i += 1
    }

    /// Reads `"key": value` members up to the closing brace; `member` must consume the value.
    package mutating func objectMembers(_ member: (inout JSONScanner, Range<Int>) throws -> Void) throws {
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw FrameError.badJSON("expected a key but found \(describeHere())") }
            let key = try rawString()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            guard i < b.count else { throw FrameError.badJSON("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return }
            throw FrameError.badJSON("expected ',' or '}' but found \(describeHere())")
        }
    }

    /// The raw bytes between the quotes of the string at `i`, with escapes left in place.
    private mutating func rawString() throws -> Range<Int> {
        i += 1  // opening quote
        let start = i
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return start..<(i - 1) }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { break }
                let e = b[i + 1]
                if e == UInt8(ascii: "u") {
                    guard i + 5 < b.count, (2...5).allSatisfy({ b[i + $0].isHexDigit }) else {
                        throw FrameError.badJSON("bad \\u escape at byte \(i)")
                    }
                    i += 6; continue
                }
                guard [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                       UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t")].contains(e) else {
                    throw FrameError.badJSON("bad escape at byte \(i)")
                }
                i += 2; continue
            }
            if c < 0x20 { throw FrameError.badJSON("control character in string at byte \(i)") }
            i += 1
        }
        throw FrameError.badJSON("unterminated string")
    }

    /// A string value (or `null`, giving `nil`). Escapes are refused: the fields we read are plain ASCII.
    package mutating func string(field: String) throws -> Range<Int>? {
        if takeNull() { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "\"") else {
            throw FrameError.badField(name: field, reason: "expected a string but found \(describeHere())")
        }
        let r = try rawString()
        if b[r].contains(UInt8(ascii: "\\")) { throw FrameError.badField(name: field, reason: "escape sequences are not allowed here") }
        return r
    }

    /// A number value read exactly as `value × 10^scale` (or `null`, giving `nil`).
    package mutating func decimal(field: String, scale: Int) throws -> Int64? {
        if takeNull() { return nil }
        let start = i
        while i < b.count, b[i].isNumberByte { i += 1 }
        guard i > start else { throw FrameError.badField(name: field, reason: "expected a number but found \(describeHere())") }
        switch ScaledDecimal.parse(UnsafeRawBufferPointer(rebasing: b[start..<i]), scale: scale) {
        case .success(let v): return v
        case .failure(.tooManyDecimals):
            throw FrameError.badField(name: field, reason: scale == 0
                ? "\(Sanitized(bytes: b[start..<i])) is not a whole number"
                : "\(Sanitized(bytes: b[start..<i])) has more than \(scale) decimal places")
        case .failure(.overflow): throw FrameError.badField(name: field, reason: "\(Sanitized(bytes: b[start..<i])) is out of range")
        case .failure(.notANumber): throw FrameError.badField(name: field, reason: "\(Sanitized(bytes: b[start..<i])) is not a JSON number")
        }
    }

    private mutating func takeNull() -> Bool {
        if i + 4 <= b.count, b[i] == UInt8(ascii: "n"), b[i + 1] == UInt8(ascii: "u"), b[i + 2] == UInt8(ascii: "l"), b[i + 3] == UInt8(ascii: "l") {
            i += 4; return true
        }
        return false
    }

    /// Skips any JSON value, checking its syntax; nesting is bounded to keep hostile input cheap.
    package mutating func skipValue(depth: Int) throws {
        guard depth < Self.maximumDepth else { throw FrameError.badJSON("nesting deeper than \(Self.maximumDepth)") }
        skipWhitespace()
        guard i < b.count else { throw FrameError.badJSON("expected a value but found end of line") }
        switch b[i] {
        case UInt8(ascii: "\""): _ = try rawString()
        case UInt8(ascii: "{"):
            i += 1
            try objectMembers { s, _ in try s.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard i < b.count else { throw FrameError.badJSON("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return }
                throw FrameError.badJSON("expected ',' or ']' but found \(describeHere())")
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            let start = i
            while i < b.count, b[i].isNumberByte { i += 1 }
            guard i > start, case .success = ScaledDecimal.parse(UnsafeRawBufferPointer(rebasing: b[start..<i]), scale: 0)
                    .flatMapError({ $0 == .notANumber ? .failure($0) : .success(0) })
            else { i = start; throw FrameError.badJSON("expected a value but found \(describeHere())") }
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count, (0..<n).allSatisfy({ b[i + $0] == word.utf8Start[$0] }) else {
            throw FrameError.badJSON("expected a value but found \(describeHere())")
        }
        i += n
    }

    package func keyEquals(_ r: Range<Int>, _ key: StaticString) -> Bool { bytesEqual(r, key) }

    /// Whether the key is `lowercaseKey` in any ASCII case (for peers that vary their keys' case).
    package func keyEqualsIgnoringCase(_ r: Range<Int>, _ lowercaseKey: StaticString) -> Bool {
        let n = lowercaseKey.utf8CodeUnitCount
        guard r.count == n else { return false }
        let p = lowercaseKey.utf8Start
        for k in 0..<n {
            var c = b[r.lowerBound + k]
            if c >= 0x41 && c <= 0x5A { c |= 0x20 }
            if c != p[k] { return false }
        }
        return true
    }

    package func bytesEqual(_ r: Range<Int>, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard r.count == n else { return false }
        let p = s.utf8Start
        for k in 0..<n where b[r.lowerBound + k] != p[k] { return false }
        return true
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
    var isNumberByte: Bool {
        (0x30...0x39).contains(self) || self == UInt8(ascii: "-") || self == UInt8(ascii: "+") || self == UInt8(ascii: ".")
            || self == UInt8(ascii: "e") || self == UInt8(ascii: "E")
    }
}
