import Foundation
import JWTKit

/// The claims of an access token: who (`sub`, the user's id), for whom (`iss`, `aud`), when
/// (`iat`, `nbf`, `exp`), which token (`jti`), and what the user may do (`roles`, and the
/// subscription `level`, "basic" or "pro", which sets the market-data limits).
public struct AccessClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim
    public var username: String
    public var roles: [String]
    public var level: String

    /// The signature was checked before this; `AccessTokens.verify` checks the claims, against
    /// its clock and its configured issuer and audience.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
