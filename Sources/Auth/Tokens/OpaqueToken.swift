import Crypto
import Foundation

/// A refresh or email-verification token: 32 random bytes in base64url, handed to the client
/// once. The database keeps only its SHA-256, so a copy of the database holds no usable token.
public struct OpaqueToken: Sendable, Equatable {
    public let text: String

    public init() {
        let key = SymmetricKey(size: .bits256)
        text = key.withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init(text: String) { self.text = text }

    /// What the database keeps and looks tokens up by.
    public var digest: [UInt8] { Self.digest(of: text) }

    public static func digest(of text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

    /// Whether `text` can be one of ours (43 base64url characters): anything else is refused
    /// before a query.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 }
    }
}
