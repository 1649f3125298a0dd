@testable import Auth
import Crypto
import Foundation
import JWTKit
import Testing

@Suite struct AccessTokensTests {
    static let secret = Array("a-secret-of-more-than-thirty-two-bytes!".utf8)

    static func tokens(_ keys: [(kid: String, algorithm: AuthSettings.Key.Algorithm, material: AccessTokens.KeyMaterial)]? = nil,
                       signing: String = "k1", audience: String = "akis") throws -> AccessTokens {
        try AccessTokens(keys: keys ?? [("k1", .hs256, .secret(secret))], signingKid: signing, issuer: "akis", audience: audience, lifetime: 900)
    }

    @Test func issuedTokensVerifyWithEveryClaim() async throws {
        let tokens = try Self.tokens()
        let id = UUID()
        let (token, expires) = try await tokens.issue(id: id, username: "ayşe", roles: ["user"], level: "pro")
        let user = try await tokens.verify(token)
        #expect(user.id == id && user.username == "ayşe" && user.roles == ["user"] && user.level == "pro" && user.expires == expires)
        let claims = try DefaultJWTParser().parse(Array(token.utf8), as: AccessClaims.self)
        #expect(claims.header.alg == "HS256" && claims.header.kid == "k1" && claims.header.typ == "JWT")
        #expect(claims.payload.iss.value == "akis" && claims.payload.aud.value == ["akis"] && !claims.payload.jti.value.isEmpty)
        #expect(claims.payload.exp.value.timeIntervalSince(claims.payload.iat.value) == 900 && claims.payload.nbf.value == claims.payload.iat.value)
    }

    @Test func expiredAndNotYetValidTokensAreRefused() async throws {
        let tokens = try Self.tokens()
        let (token, expires) = try await tokens.issue(id: UUID(), username: "u", roles: [], level: "basic")
        await #expect(throws: TokenRejection.expired) { try await tokens.verify(token, now: expires) }
        await #expect(throws: TokenRejection.notYetValid) { try await tokens.verify(token, now: Date().addingTimeInterval(-120)) }
        _ = try await tokens.verify(token, now: expires.addingTimeInterval(-1))
    }

    @Test func forgedTokensAreRefused() async throws {
        let tokens = try Self.tokens()
        let (token, _) = try await tokens.issue(id: UUID(), username: "u", roles: ["user"], level: "basic")
        let parts = token.split(separator: ".").map(String.init)
        // alg none, with and without a signature.
        let none = base64URL(#"{"alg":"none","typ":"JWT"}"#) + "." + parts[1] + "."
        await #expect(throws: TokenRejection.algorithm("none")) { try await tokens.verify(none) }
        await #expect(throws: TokenRejection.algorithm("none")) { try await tokens.verify(none + parts[2]) }
        // A payload changed under the old signature (level raised to pro).
        var payload = try JSONSerialization.jsonObject(with: Data(base64URLDecoding: parts[1])!) as! [String: Any]
        payload["level"] = "pro"
        let changed = parts[0] + "." + base64URL(String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)) + "." + parts[2]
        await #expect(throws: TokenRejection.signature) { try await tokens.verify(changed) }
        // Signed with another key under our kid; a kid we do not have; garbage.
        let other = try AccessTokens(keys: [("k1", .hs256, .secret(Array("another-secret-of-thirty-two-bytes-or-more".utf8)))], signingKid: "k1",
                                     issuer: "akis", audience: "akis", lifetime: 900)
        await #expect(throws: TokenRejection.signature) { try await tokens.verify(try await other.issue(id: UUID(), username: "u", roles: [], level: "pro").token) }
        let stranger = try AccessTokens(keys: [("k9", .hs256, .secret(Self.secret))], signingKid: "k9", issuer: "akis", audience: "akis", lifetime: 900)
        await #expect(throws: TokenRejection.unknownKey) { try await tokens.verify(try await stranger.issue(id: UUID(), username: "u", roles: [], level: "pro").token) }
        for junk in ["", "abc", "a.b.c", String(repeating: "x", count: 20_000), "\u{0}.\u{0}.\u{0}"] {
            await #expect(throws: TokenRejection.self) { try await tokens.verify(junk) }
        }
        // The algorithm confusion: an HS256 token made with the public key of an EdDSA kid.
        let ed = EdDSA.PrivateKey(backing: Curve25519.Signing.PrivateKey())
        let mixed = try Self.tokens([("ed", .eddsa, .privatePEM(ed.pemRepresentation))], signing: "ed")
        let confused = try AccessTokens(keys: [("ed", .hs256, .secret(Array(ed.publicKey.pemRepresentation.utf8)))], signingKid: "ed",
                                        issuer: "akis", audience: "akis", lifetime: 900)
        await #expect(throws: TokenRejection.algorithm("HS256")) { try await mixed.verify(try await confused.issue(id: UUID(), username: "u", roles: [], level: "pro").token) }
    }

    @Test func wrongAudienceAndIssuerAreRefused() async throws {
        let elsewhere = try Self.tokens(audience: "another-service")
        let (token, _) = try await elsewhere.issue(id: UUID(), username: "u", roles: [], level: "basic")
        await #expect(throws: TokenRejection.audience) { try await Self.tokens().verify(token) }
        let otherIssuer = try AccessTokens(keys: [("k1", .hs256, .secret(Self.secret))], signingKid: "k1", issuer: "someone", audience: "akis", lifetime: 900)
        await #expect(throws: TokenRejection.issuer) { try await Self.tokens().verify(try await otherIssuer.issue(id: UUID(), username: "u", roles: [], level: "basic").token) }
    }

    @Test func rotationByKidAcceptsTheOldKeyUntilItIsRemoved() async throws {
        let ed = EdDSA.PrivateKey(backing: Curve25519.Signing.PrivateKey())
        let es = ES256PrivateKey()
        let old = try Self.tokens()
        let (oldToken, _) = try await old.issue(id: UUID(), username: "u", roles: [], level: "basic")
        // k2 (EdDSA) signs now; k1 still verifies; an ES256 key that only verifies (its public key).
        let rotated = try Self.tokens([("k1", .hs256, .secret(Self.secret)), ("k2", .eddsa, .privatePEM(ed.pemRepresentation)),
                                       ("k3", .es256, .publicPEM(es.publicKey.pemRepresentation))], signing: "k2")
        let (newToken, _) = try await rotated.issue(id: UUID(), username: "u", roles: [], level: "basic")
        #expect(try DefaultJWTParser().parse(Array(newToken.utf8), as: AccessClaims.self).header.alg == "EdDSA")
        _ = try await rotated.verify(oldToken)
        _ = try await rotated.verify(newToken)
        let esSigner = try Self.tokens([("k3", .es256, .privatePEM(es.pemRepresentation))], signing: "k3")
        _ = try await rotated.verify(try await esSigner.issue(id: UUID(), username: "u", roles: [], level: "basic").token)
        let k1Removed = try Self.tokens([("k2", .eddsa, .privatePEM(ed.pemRepresentation))], signing: "k2")
        await #expect(throws: TokenRejection.unknownKey) { try await k1Removed.verify(oldToken) }
        _ = try await k1Removed.verify(newToken)
    }

    @Test func badKeyMaterialIsAClearError() {
        #expect(throws: AuthConfigurationError.self) { try Self.tokens([("e", .eddsa, .privatePEM("not a pem"))], signing: "e") }
        do {
            _ = try Self.tokens([("e", .es256, .privatePEM("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"))], signing: "e")
            Issue.record("a bad PEM key was accepted")
        } catch {
            #expect("\(error)" == "[auth] key e: not a ES256 key in PEM form")
        }
    }

    @Test func opaqueTokens() {
        let a = OpaqueToken(), b = OpaqueToken()
        #expect(a != b && OpaqueToken.isWellFormed(a.text) && a.digest.count == 32 && a.digest == OpaqueToken.digest(of: a.text))
        #expect(!OpaqueToken.isWellFormed(a.text + "x") && !OpaqueToken.isWellFormed("'; DELETE FROM auth_users; --" + String(repeating: "a", count: 14)))
    }
}

func base64URL(_ text: String) -> String {
    Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

extension Data {
    init?(base64URLDecoding text: String) {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        self.init(base64Encoded: s)
    }
}
