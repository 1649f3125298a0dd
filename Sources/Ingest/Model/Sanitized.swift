/// Text from the outside world made safe to put in a log line or error message: quoted,
/// control and non-ASCII bytes escaped, and cut to a sane length.
public struct Sanitized: CustomStringConvertible, Sendable {
    public let description: String

    public init(_ text: String, limit: Int = 40) {
        self.init(bytes: Array(text.utf8), limit: limit)
    }

    public init(bytes: some Collection<UInt8>, limit: Int = 40) {
        var out = "\""
        var n = 0
        for b in bytes {
            if n == limit { out += "…"; break }
            switch b {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
            n += 1
        }
        self.description = out + "\""
    }
}
