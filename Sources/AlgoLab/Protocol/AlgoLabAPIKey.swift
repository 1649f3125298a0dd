import Crypto
import CryptoExtras
import Foundation

/// An AlgoLab API key, `API-<base64 of 32 bytes>`. It is sent as the `APIKEY` header, goes into
/// every `Checker`, and its 32 bytes are the AES-256 key of the login fields. It is a secret:
/// its description never shows it.
public struct AlgoLabAPIKey: Sendable, Equatable, CustomStringConvertible {
    /// The whole key as the `APIKEY` header carries it.
    public let header: String
    private let aes: SymmetricKey

    /// Parses `API-<code>`; a clear error names what is wrong without repeating the key.
    public init(_ text: String) throws(AlgoLabError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("API-") else {
            throw .configuration("the API key must start with \"API-\" (AlgoLab shows it as API-<code> on the API page)")
        }
        let code = trimmed.dropFirst(4)
        guard let bytes = Data(base64Encoded: String(code)) else {
            throw .configuration("the part of the API key after \"API-\" is not base64")
        }
        guard bytes.count == 32 else {
            throw .configuration("the part of the API key after \"API-\" decodes to \(bytes.count) bytes, not the 32 of an AES-256 key")
        }
        header = trimmed
        aes = SymmetricKey(data: bytes)
    }

    public static func == (a: Self, b: Self) -> Bool { a.header == b.header }

    public var description: String { "API-…(redacted)" }

    /// AlgoLab's encryption of a login field: AES-256-CBC with a zero IV and PKCS#7 padding,
    /// as base64. Deterministic on purpose (it is AlgoLab's scheme, not ours to improve).
    public func encrypt(_ text: String) -> String {
        // A 16-byte IV and a 32-byte key cannot fail.
        let sealed = try! AES._CBC.encrypt(Array(text.utf8), using: aes, iv: try! AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16)))
        return sealed.base64EncodedString()
    }

    /// The inverse of `encrypt`, for the fake server in the tests and for checking a vector.
    public func decrypt(_ base64: String) -> String? {
        guard let data = Data(base64Encoded: base64),
              let plain = try? AES._CBC.decrypt(data, using: aes, iv: try! AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16)))
        else { return nil }
        return String(bytes: plain, encoding: .utf8)
    }

    /// The `Checker` header: lowercase hex SHA-256 of the key, AlgoLab's origin, the endpoint's
    /// path (`/api/SendOrder`, or `/ws` for the WebSocket) and the exact body bytes sent.
    public func checker(path: String, body: [UInt8] = []) -> String {
        var hash = SHA256()
        hash.update(data: Array(header.utf8))
        hash.update(data: Array(Self.checkerOrigin.utf8))
        hash.update(data: Array(path.utf8))
        hash.update(data: body)
        return hash.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The origin every Checker is computed with. It is AlgoLab's, also when the URLs point
    /// elsewhere (a proxy, the test fake): the server checks against its own name.
    public static let checkerOrigin = "https://www.algolab.com.tr"
}
