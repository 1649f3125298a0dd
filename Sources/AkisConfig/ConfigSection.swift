import Ingest

/// Reads typed values out of one TOML table, remembering which keys were used so that
/// `finish()` can reject the rest by name. Every error names the full key and its line.
public struct ConfigSection {
    /// The table's dotted name ("store", "feeds[0]").
    public let path: String
    let table: TOMLTable
    private var used: Set<String> = []

    init(path: String, table: TOMLTable) {
        self.path = path
        self.table = table
    }

    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func whereIs(_ key: String) -> String {
        table.entries[key].map { " (line \($0.line))" } ?? ""
    }

    public func fail(_ key: String, _ why: String) -> ConfigError {
        ConfigError("\(name(key))\(whereIs(key)): \(why)")
    }

    private mutating func take(_ key: String) -> TOMLValue? {
        used.insert(key)
        return table[key]
    }

    public mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = take(key) else { return nil }
        guard case .string(let s) = v else { throw fail(key, "expected a string, found \(v.kindName)") }
        return s
    }

    public mutating func string(_ key: String, default value: String) throws(ConfigError) -> String {
        try string(key) ?? value
    }

    public mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) throws(ConfigError) -> T where T.RawValue == String {
        guard let s = try string(key) else { return value }
        guard let v = T(rawValue: s) else {
            throw fail(key, "\(Sanitized(s)) is not one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return v
    }

    public mutating func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let v = take(key) else { return value }
        guard case .integer(let n) = v else { throw fail(key, "expected an integer, found \(v.kindName)") }
        guard let i = Int(exactly: n), range.contains(i) else { throw fail(key, "\(n) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    /// A number, integer or float, within `range`.
    public mutating func number(_ key: String, default value: Double, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let v = take(key) else { return value }
        let d: Double
        switch v {
        case .integer(let n): d = Double(n)
        case .float(let f): d = f
        default: throw fail(key, "expected a number, found \(v.kindName)")
        }
        guard range.contains(d) else { throw fail(key, "\(d) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    /// An exact decimal's text: an integer, a string ("0.003"), or a float written without an
    /// exponent (read back as its shortest text, which is what was written). Amounts and rates
    /// are read from it exactly, never through the float.
    public mutating func decimalText(_ key: String) throws(ConfigError) -> String? {
        guard let v = take(key) else { return nil }
        switch v {
        case .integer(let n): return String(n)
        case .string(let s): return s
        case .float(let f):
            let text = "\(f)"
            guard f.isFinite, !text.contains("e") else { throw fail(key, "write \(text) as a string, e.g. \"0.00001\", so that it is read exactly") }
            return text
        default: throw fail(key, "expected a number, found \(v.kindName)")
        }
    }

    /// The keys of the table, sorted (for tables keyed by name, such as per-symbol overrides).
    public var keys: [String] { table.keys.sorted() }

    public mutating func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let v = take(key) else { return value }
        guard case .bool(let b) = v else { throw fail(key, "expected true or false, found \(v.kindName)") }
        return b
    }

    /// A duration written as a string: "250ms", "5s", "2m", "1h". Returned in nanoseconds.
    public mutating func duration(_ key: String, default nanos: Int64, in range: ClosedRange<Int64>) throws(ConfigError) -> Int64 {
        guard let v = take(key) else { return nanos }
        guard case .string(let s) = v else { throw fail(key, "expected a duration string such as \"5s\" or \"250ms\", found \(v.kindName)") }
        guard let parsed = Self.parseDuration(s) else {
            throw fail(key, "\(Sanitized(s)) is not a duration; write it like \"250ms\", \"5s\", \"2m\" or \"1h\"")
        }
        guard range.contains(parsed) else {
            throw fail(key, "\(s) is out of range \(Self.show(range.lowerBound))...\(Self.show(range.upperBound))")
        }
        return parsed
    }

    public mutating func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = take(key) else { return nil }
        guard case .array(let elements) = v else { throw fail(key, "expected an array of strings, found \(v.kindName)") }
        var out: [String] = []
        for (n, e) in elements.enumerated() {
            guard case .string(let s) = e else { throw fail(key, "element \(n) is \(e.kindName), expected a string") }
            out.append(s)
        }
        return out
    }

    public mutating func section(_ key: String) throws(ConfigError) -> ConfigSection? {
        guard let v = take(key) else { return nil }
        guard case .table(let t) = v else { throw fail(key, "expected a table, found \(v.kindName)") }
        return ConfigSection(path: name(key), table: t)
    }

    public mutating func sections(_ key: String) throws(ConfigError) -> [ConfigSection] {
        guard let v = take(key) else { return [] }
        guard case .array(let elements) = v else { throw fail(key, "expected [[\(name(key))]] tables, found \(v.kindName)") }
        var out: [ConfigSection] = []
        for (n, e) in elements.enumerated() {
            guard case .table(let t) = e else { throw fail(key, "element \(n) is \(e.kindName), expected a table") }
            out.append(ConfigSection(path: "\(name(key))[\(n)]", table: t))
        }
        return out
    }

    /// Rejects every key that was not read.
    public func finish() throws(ConfigError) {
        for key in table.keys where !used.contains(key) {
            let expected = used.sorted().joined(separator: ", ")
            throw ConfigError("unknown key \(name(key))\(whereIs(key))\(expected.isEmpty ? "" : "; known keys here: \(expected)")")
        }
    }

    static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("us", 1_000), ("ns", 1), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if let whole = Int64(number) {
                let r = whole.multipliedReportingOverflow(by: scale)
                return whole >= 0 && !r.overflow ? r.partialValue : nil
            }
            guard let v = Double(number), v.isFinite, v >= 0, v * Double(scale) < 9e18 else { return nil }
            return Int64((v * Double(scale)).rounded())
        }
        return nil
    }

    static func show(_ nanos: Int64) -> String {
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        return "\(nanos)ns"
    }
}
