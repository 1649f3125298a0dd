import Ingest

/// Query-string parameters, each name at most once and every name known: what every GET route
/// with parameters reads them through (the history API, the orders API).
public struct QueryParameters {
    private var values: [String: String] = [:]

    public init(_ pairs: [(String, String)], allowed: Set<String>) throws(QueryError) {
        for (name, value) in pairs {
            guard allowed.contains(name) else {
                throw QueryError("unknown parameter \(Sanitized(name)); expected \(allowed.sorted().joined(separator: ", "))")
            }
            guard values.updateValue(value, forKey: name) == nil else { throw QueryError("\(name) is given more than once") }
        }
    }

    public mutating func take(_ name: String) -> String? { values.removeValue(forKey: name) }

    /// An ISO 8601 time in nanoseconds, or a refusal naming the parameter.
    public static func time(_ name: String, _ text: String) throws(QueryError) -> Int64 {
        var copy = text
        guard let nanos = copy.withUTF8({ UTCTime.parseISO8601(UnsafeRawBufferPointer($0)) }) else {
            throw QueryError("\(name) must be an ISO 8601 time such as 2024-09-24T10:30:00Z or 2024-09-24T13:30:00+03:00, not \(Sanitized(text))")
        }
        return nanos
    }

    /// `limit`: a whole number in `range`, or `standard` when absent.
    public mutating func limit(_ range: ClosedRange<Int>, standard: Int) throws(QueryError) -> Int {
        guard let text = take("limit") else { return standard }
        guard let n = Int(text), range.contains(n) else {
            throw QueryError("limit must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(Sanitized(text))")
        }
        return n
    }
}
