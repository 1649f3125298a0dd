import Foundation

/// AlgoLab's reply envelope, `{"success":…,"message":…,"content":…}`, read with keys in any
/// case (both `success` and `Success` occur) and numbers kept exact (`Decimal` reads their text).
public enum AlgoLabReply {
    /// The content of a reply with HTTP `status` and `body`, or the typed error it stands for.
    public static func content<Content: Decodable>(_: Content.Type, status: Int, body: [UInt8]) throws(AlgoLabError) -> Content {
        let envelope = try self.envelope(Content.self, status: status, body: body)
        guard let content = envelope.content else { throw .badReply("a successful reply without content") }
        return content
    }

    /// The envelope of a reply with HTTP `status` and `body`, checked for success.
    public static func envelope<Content: Decodable>(_: Content.Type, status: Int, body: [UInt8]) throws(AlgoLabError) -> Envelope<Content> {
        let message = (try? decoder.decode(Envelope<Ignored>.self, from: Data(body)))?.message ?? ""
        switch status {
        case 200..<300: break
        case 429: throw .rateLimited
        case 401, 403: throw .sessionExpired(message.isEmpty ? "HTTP \(status)" : message)
        case 500..<600: throw .server(status: status, message: message)
        default: throw .badReply("HTTP \(status)" + (message.isEmpty ? "" : ": \(message)"))
        }
        let envelope: Envelope<Content>
        do {
            envelope = try decoder.decode(Envelope<Content>.self, from: Data(body))
        } catch {
            throw .badReply("\(Content.self) expected: \(describe(error)) in \(preview(body))")
        }
        guard envelope.success else { throw .refused(envelope.message ?? "(no message)") }
        return envelope
    }

    public struct Envelope<Content: Decodable>: Decodable {
        public var success: Bool
        public var message: String?
        public var content: Content?
    }

    /// Any content, not read.
    public struct Ignored: Decodable, Sendable {
        public init(from decoder: any Decoder) throws {}
    }

    /// JSON keys folded to lowercase: a type's `CodingKeys` name them in lowercase.
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in LowercaseKey(path.last?.stringValue.lowercased() ?? "") }
        return d
    }()

    private struct LowercaseKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "no \"\(key.stringValue)\""
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            c.codingPath.isEmpty ? c.debugDescription : "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: "\(error)"
        }
    }

    static func preview(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return body.count > 200 ? "\"\(text)…\"" : "\"\(text)\""
    }
}
