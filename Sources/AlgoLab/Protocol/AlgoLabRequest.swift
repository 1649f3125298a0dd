/// One call to AlgoLab's REST API: the endpoint's name and its body, as the exact bytes sent (the
/// Checker is computed over them). Bodies are flat objects of strings and booleans, written
/// compactly with non-ASCII escaped as `\uXXXX`, as AlgoLab's own client writes them.
public struct AlgoLabRequest: Sendable, Equatable {
    public enum Field: Sendable, Equatable {
        case string(String)
        case bool(Bool)
    }

    /// `SendOrder`, `LoginUser`, ….
    public let endpoint: String
    /// The body's bytes; empty for an empty body.
    public let body: [UInt8]
    /// Login calls carry only the APIKEY header (there is no session yet).
    public let isLogin: Bool

    public init(_ endpoint: String, _ fields: KeyValuePairs<String, Field> = [:], isLogin: Bool = false) {
        self.endpoint = endpoint
        self.isLogin = isLogin
        body = fields.isEmpty ? [] : Self.compactJSON(fields)
    }

    /// The path in the Checker: `/api/<Name>` (the wire URL is the base URL + this path, so
    /// `…/api/api/<Name>` against AlgoLab's base `…/api`).
    public var path: String { "/api/" + endpoint }

    /// The headers beyond Content-Type.
    public func headers(apiKey: AlgoLabAPIKey, authorization: String?) -> [(String, String)] {
        guard !isLogin, let authorization else { return [("APIKEY", apiKey.header)] }
        return [("APIKEY", apiKey.header), ("Checker", apiKey.checker(path: path, body: body)), ("Authorization", authorization)]
    }

    static func compactJSON(_ fields: KeyValuePairs<String, Field>) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .string(let s): appendString(s, to: &out)
            case .bool(let b): out += Array((b ? "true" : "false").utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A JSON string as Python's `json.dumps` writes it (ensure_ascii): short escapes for `"`, `\`
    /// and the usual controls, `\u00XX` for other controls, `\uXXXX` (lowercase hex, surrogate
    /// pairs beyond the BMP) for everything outside ASCII.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x20...0x7E: out.append(UInt8(unit))
            default:
                let hex = String(unit, radix: 16)
                out += Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
