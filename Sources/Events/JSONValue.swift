import Ingest

/// A JSON value as an event's `data` carries it. Numbers are exact: integers, or amounts written
/// from their scaled integers; objects keep the order their fields were given in, so that an
/// event's bytes are the same every time they are written.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    /// An amount in lira, exact (10⁻⁶ TRY units).
    case price(Price)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.text == b.text }

    /// Its JSON text, canonical: no spaces, fields in the given order, strings escaped the one way
    /// `JSONText.string` does.
    public var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .string(let s): out += JSONText.string(s)
        case .integer(let n): out += String(n)
        case .price(let p): out += "\(p)"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                out += JSONText.string(key) + ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }
}
