/// A strict parser for the TOML subset of `TOMLValue` (TOML 1.0 syntax for everything it accepts).
public struct TOMLParser {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private var root = TOMLTable()
    /// The path of the table that key/value lines go into, and whether it is an array-of-tables element.
    private var current: [PathStep] = []

    private enum PathStep: Equatable { case key(String), lastElement(String) }

    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ message: String, at position: Int? = nil) -> TOMLError {
        TOMLError(line: line, column: (position ?? i) - lineStart + 1, message: message)
    }

    /// An error maker for the current position that does not capture `self`.
    private func failure() -> (String) -> TOMLError {
        let (line, column) = (line, i - lineStart + 1)
        return { TOMLError(line: line, column: column, message: $0) }
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func document() throws(TOMLError) -> TOMLTable {
        while true {
            skipWhitespace()
            guard let c = peek else { return root }
            switch c {
            case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                try endOfLine()
            case UInt8(ascii: "["):
                try header()
                try endOfLine()
            default:
                let keyLine = line
                let key = try dottedKey()
                skipWhitespace()
                guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key \(Self.show(key))") }
                i += 1
                skipWhitespace()
                let v = try value()
                try insert(v, at: key, line: keyLine)
                try endOfLine()
            }
        }
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1 }
    }

    /// Whitespace, an optional comment, then a newline or the end.
    private mutating func endOfLine() throws(TOMLError) {
        skipWhitespace()
        if peek == UInt8(ascii: "#") {
            while let c = peek, c != UInt8(ascii: "\n") {
                if c < 0x20 && c != UInt8(ascii: "\t") && c != UInt8(ascii: "\r") { throw fail("control character in a comment") }
                i += 1
            }
        }
        if peek == UInt8(ascii: "\r") { i += 1 }
        guard let c = peek else { return }
        guard c == UInt8(ascii: "\n") else { throw fail("unexpected \(Self.describe(c)) after the value; expected the end of the line") }
        newline()
    }

    private mutating func newline() {
        i += 1
        line += 1
        lineStart = i
    }

    private mutating func header() throws(TOMLError) {
        i += 1
        let arrayOfTables = peek == UInt8(ascii: "[")
        if arrayOfTables { i += 1 }
        skipWhitespace()
        let keyLine = line
        let path = try dottedKey()
        skipWhitespace()
        guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
        i += 1
        if arrayOfTables {
            guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the array-of-tables header") }
            i += 1
        }
        // Walk (creating) the parents, then the last component.
        var steps: [PathStep] = []
        for key in path.dropLast() {
            steps.append(try resolveParent(steps, key, line: keyLine))
        }
        let last = path.last!
        let fail = failure()
        if arrayOfTables {
            try modify(steps) { (table: inout TOMLTable) throws(TOMLError) in
                switch table[last] {
                case nil:
                    var element = TOMLTable()
                    element.explicitlyDefined = true
                    table.set(last, .array([.table(element)]), line: keyLine)
                case .array(var elements) where elements.allSatisfy({ if case .table = $0 { true } else { false } }):
                    var element = TOMLTable()
                    element.explicitlyDefined = true
                    elements.append(.table(element))
                    table.set(last, .array(elements), line: keyLine)
                default:
                    throw fail("\(Self.show(path)) is already defined as something other than an array of tables")
                }
            }
            current = steps + [.lastElement(last)]
        } else {
            try modify(steps) { (table: inout TOMLTable) throws(TOMLError) in
                switch table[last] {
                case nil:
                    var t = TOMLTable()
                    t.explicitlyDefined = true
                    table.set(last, .table(t), line: keyLine)
                case .table(var t) where !t.explicitlyDefined:
                    t.explicitlyDefined = true
                    table.set(last, .table(t), line: table.entries[last]!.line)
                default:
                    throw fail("table \(Self.show(path)) is defined twice")
                }
            }
            current = steps + [.key(last)]
        }
    }

    /// The step into `key` under `steps`: an existing table, the last element of an array of
    /// tables, or a new implicit table.
    private mutating func resolveParent(_ steps: [PathStep], _ key: String, line keyLine: Int) throws(TOMLError) -> PathStep {
        var step = PathStep.key(key)
        let fail = failure()
        try modify(steps) { (table: inout TOMLTable) throws(TOMLError) in
            switch table[key] {
            case nil: table.set(key, .table(TOMLTable()), line: keyLine)
            case .table: break
            case .array(let elements) where elements.last.map({ if case .table = $0 { true } else { false } }) ?? false:
                step = .lastElement(key)
            default: throw fail("key \(Self.show([key])) is not a table")
            }
        }
        return step
    }

    private mutating func modify(_ steps: [PathStep], _ body: (inout TOMLTable) throws(TOMLError) -> Void) throws(TOMLError) {
        try Self.modify(&root, steps[...], body)
    }

    private static func modify(_ table: inout TOMLTable, _ steps: ArraySlice<PathStep>, _ body: (inout TOMLTable) throws(TOMLError) -> Void) throws(TOMLError) {
        guard let first = steps.first else { return try body(&table) }
        switch first {
        case .key(let k):
            guard case .table(var child) = table[k] else { return }
            let line = table.entries[k]!.line
            table.set(k, .string(""), line: line)  // release the copy so `child` is unique
            defer { table.set(k, .table(child), line: line) }
            try modify(&child, steps.dropFirst(), body)
        case .lastElement(let k):
            guard case .array(var elements) = table[k], case .table(var child) = elements.last else { return }
            let line = table.entries[k]!.line
            elements.removeLast()
            defer {
                elements.append(.table(child))
                table.set(k, .array(elements), line: line)
            }
            try modify(&child, steps.dropFirst(), body)
        }
    }

    private mutating func insert(_ v: TOMLValue, at key: [String], line keyLine: Int) throws(TOMLError) {
        var steps = current
        for k in key.dropLast() {
            steps.append(try resolveParent(steps, k, line: keyLine))
        }
        let last = key.last!
        let full = key
        let fail = failure()
        try modify(steps) { (table: inout TOMLTable) throws(TOMLError) in
            if table[last] != nil { throw fail("key \(Self.show(full)) is defined twice (first on line \(table.entries[last]!.line))") }
            table.set(last, v, line: keyLine)
        }
    }

    // MARK: Keys

    private mutating func dottedKey() throws(TOMLError) -> [String] {
        var parts = [try simpleKey()]
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: ".") else { return parts }
            i += 1
            skipWhitespace()
            parts.append(try simpleKey())
        }
    }

    private mutating func simpleKey() throws(TOMLError) -> String {
        switch peek {
        case UInt8(ascii: "\""): return try basicString()
        case UInt8(ascii: "'"): return try literalString()
        default:
            let start = i
            while let c = peek, Self.isBareKey(c) { i += 1 }
            guard i > start else {
                throw fail(peek.map { "expected a key, found \(Self.describe($0))" } ?? "expected a key, found the end of the file")
            }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    // MARK: Values

    private mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value, found the end of the file") }
        switch c {
        case UInt8(ascii: "\""):
            if bytes[i...].starts(with: Array("\"\"\"".utf8)) { throw fail("multi-line strings are not supported here") }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if bytes[i...].starts(with: Array("'''".utf8)) { throw fail("multi-line strings are not supported here") }
            return .string(try literalString())
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): return try inlineTable()
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if bytes[i...].starts(with: Array("true".utf8)) { i += 4; return .bool(true) }
            if bytes[i...].starts(with: Array("false".utf8)) { i += 5; return .bool(false) }
            throw fail("expected a value, found \(Self.describe(c)); strings need quotes")
        default:
            return try number()
        }
    }

    private mutating func number() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = peek, c != UInt8(ascii: ",") && c != UInt8(ascii: "]") && c != UInt8(ascii: "}")
            && c != UInt8(ascii: " ") && c != UInt8(ascii: "\t") && c != UInt8(ascii: "\n") && c != UInt8(ascii: "\r")
            && c != UInt8(ascii: "#") { i += 1 }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard !text.isEmpty else { throw fail("expected a value", at: start) }
        if text.contains(where: { $0 == "-" || $0 == ":" }) && text.dropFirst().contains(where: { $0 == "-" || $0 == ":" }) {
            throw fail("dates and times are not supported here; write durations as strings such as \"5s\"", at: start)
        }
        let digits = text.filter { $0 != "_" }
        if text.contains("__") || text.hasPrefix("_") || text.hasSuffix("_") {
            throw fail("bad number \(Self.show([text])): an underscore must sit between two digits", at: start)
        }
        if digits.hasPrefix("0x"), let v = Int64(digits.dropFirst(2), radix: 16) { return .integer(v) }
        let unsigned = digits.hasPrefix("+") || digits.hasPrefix("-") ? String(digits.dropFirst()) : String(digits)
        if unsigned.count > 1 && unsigned.hasPrefix("0") && !unsigned.hasPrefix("0.") && !unsigned.hasPrefix("0e") && !unsigned.hasPrefix("0E") {
            throw fail("bad number \(Self.show([text])): leading zeros are not allowed", at: start)
        }
        if let v = Int64(digits) { return .integer(v) }
        if unsigned.allSatisfy(\.isNumber) { throw fail("integer \(text) is out of range", at: start) }
        if let v = Double(digits), v.isFinite, unsigned.first?.isNumber == true, unsigned.last?.isNumber == true {
            return .float(v)
        }
        throw fail("expected a value, found \(Self.show([text])); strings need quotes", at: start)
    }

    private mutating func basicString() throws(TOMLError) -> String {
        let open = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek, c != UInt8(ascii: "\n") else { throw fail("unterminated string", at: open) }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw fail("unterminated string", at: open) }
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    guard i + n <= bytes.count, let code = UInt32(String(decoding: bytes[i..<(i + n)], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw fail("bad unicode escape in a string", at: i - 2) }
                    i += n
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw fail("unknown escape \\\(Self.describe(e)) in a string", at: i - 2)
                }
            default:
                if c < 0x20 && c != 0x09 { throw fail("control character in a string", at: i - 1) }
                out.append(c)
            }
        }
    }

    private mutating func literalString() throws(TOMLError) -> String {
        let open = i
        i += 1
        let start = i
        while let c = peek, c != UInt8(ascii: "'") {
            if c == UInt8(ascii: "\n") { break }
            i += 1
        }
        guard peek == UInt8(ascii: "'") else { throw fail("unterminated string", at: open) }
        defer { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// Whitespace, newlines and comments inside an array.
    private mutating func skipArraySpace() throws(TOMLError) {
        while let c = peek {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { i += 1 }
            else if c == UInt8(ascii: "\n") { newline() }
            else if c == UInt8(ascii: "#") { try endOfLine() }
            else { return }
        }
    }

    private mutating func array() throws(TOMLError) -> TOMLValue {
        let open = i
        i += 1
        var elements: [TOMLValue] = []
        while true {
            try skipArraySpace()
            guard let c = peek else { throw fail("unterminated array", at: open) }
            if c == UInt8(ascii: "]") { i += 1; return .array(elements) }
            elements.append(try value())
            try skipArraySpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            guard peek == UInt8(ascii: "]") else {
                throw fail(peek.map { "expected ',' or ']' in an array, found \(Self.describe($0))" } ?? "unterminated array")
            }
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        i += 1
        var table = TOMLTable()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { i += 1; return .table(table) }
        while true {
            skipWhitespace()
            let key = try simpleKey()
            skipWhitespace()
            guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key \(Self.show([key]))") }
            i += 1
            skipWhitespace()
            let v = try value()
            if table[key] != nil { throw fail("key \(Self.show([key])) is defined twice") }
            table.set(key, v, line: line)
            skipWhitespace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            guard peek == UInt8(ascii: "}") else { throw fail("expected ',' or '}' in an inline table") }
            i += 1
            return .table(table)
        }
    }

    private static func show(_ key: [String]) -> String {
        "'" + key.joined(separator: ".").unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined() + "'"
    }

    private static func describe(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x" + String(c, radix: 16, uppercase: true)
    }
}
