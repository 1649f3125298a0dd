import Foundation

/// Whom a verified access token speaks for: what other modules get from `AccessTokens.verify`.
public struct AuthenticatedUser: Sendable, Equatable {
    public let id: UUID
    public let username: String
    public let roles: [String]
    /// "basic" or "pro".
    public let level: String
    /// When the token stops being valid (an open connection ends then).
    public let expires: Date
    public let tokenID: String
}

/// Why a token was refused. The descriptions are for the client; none repeats the token.
public enum TokenRejection: Error, Equatable, Sendable, CustomStringConvertible {
    case missing
    case malformed
    /// `alg` is not the algorithm of the key it names (`none` among them).
    case algorithm(String)
    case unknownKey
    case signature
    case expired
    case notYetValid
    case issuer
    case audience

    public var description: String {
        switch self {
        case .missing: "no token"
        case .malformed: "the token is not a well-formed JWT"
        case .algorithm(let alg): "the token's algorithm \(alg.debugDescription) is not accepted"
        case .unknownKey: "the token names a key this server does not have"
        case .signature: "the token's signature does not verify"
        case .expired: "the token has expired"
        case .notYetValid: "the token is not valid yet"
        case .issuer: "the token was issued by someone else"
        case .audience: "the token is meant for another audience"
        }
    }
}
