/// A TOML value, as far as Akis configuration needs: strings, integers, floats, booleans,
/// arrays and tables. Dates and multi-line strings are rejected with a clear error.
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// "a string", "an integer", ... for error messages.
    public var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table that remembers the line each key was defined on, for error messages.
public struct TOMLTable: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var value: TOMLValue
        public var line: Int
    }

    public private(set) var keys: [String] = []
    public private(set) var entries: [String: Entry] = [:]
    /// Defined by a `[header]` (as opposed to implicitly, as the parent of a dotted key).
    var explicitlyDefined = false

    public init() {}

    public subscript(key: String) -> TOMLValue? { entries[key]?.value }

    mutating func set(_ key: String, _ value: TOMLValue, line: Int) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = Entry(value: value, line: line)
    }
}

/// A syntax error in a TOML document, with its position.
public struct TOMLError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}
