import Foundation

/// One mail as RFC 5322 text: headers (the subject encoded per RFC 2047 when it is not ASCII),
/// a UTF-8 plain-text body in quoted-printable, CRLF line ends. Header values never carry a line
/// break (a registration cannot inject headers).
public struct MailMessage: Sendable, Equatable {
    public let from: String
    public let to: String
    public let subject: String
    public let body: String
    public let id: UUID
    public let date: Date

    public init(from: String, to: String, subject: String, body: String, id: UUID, date: Date = Date()) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.id = id
        self.date = date
    }

    /// The message's bytes as an MTA or a mail client reads them.
    public var rfc5322: String {
        let date = Self.dateFormatter.string(from: date)
        let domain = from.split(separator: "@").last.map { String($0.prefix { $0 != ">" }) } ?? "localhost"
        let headers = [
            "From: \(Self.clean(from))",
            "To: \(Self.clean(to))",
            "Subject: \(Self.encodedWord(Self.clean(subject)))",
            "Date: \(date)",
            "Message-ID: <\(id.uuidString.lowercased())@\(Self.clean(domain))>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + Self.quotedPrintable(body) + "\r\n"
    }

    private static func clean(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0.properties.generalCategory != .control }.map(Character.init))
    }

    private static func encodedWord(_ text: String) -> String {
        guard !text.allSatisfy(\.isASCII) else { return text }
        return "=?utf-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// RFC 2045 quoted-printable, lines at most 76 characters.
    static func quotedPrintable(_ text: String) -> String {
        var lines: [String] = []
        for line in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            var out = "", width = 0
            let bytes = Array(line.utf8)
            for (i, b) in bytes.enumerated() {
                let last = i == bytes.count - 1
                let piece: String
                if (b == 32 || b == 9) && last || b == 61 || b < 32 || b > 126 {
                    piece = String(format: "=%02X", b)
                } else {
                    piece = String(UnicodeScalar(b))
                }
                if width + piece.count > 75 {
                    out += "=\r\n"
                    width = 0
                }
                out += piece
                width += piece.count
            }
            lines.append(out)
        }
        return lines.joined(separator: "\r\n")
    }

    private static let dateFormatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f
    }()
}
