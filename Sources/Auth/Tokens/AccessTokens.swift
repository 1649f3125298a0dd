import Crypto
import Foundation
import JWTKit

/// Issues and verifies access tokens with the configured keys. The one verifier every module
/// calls (the market data's HTTP routes and socket, orders): a token verifies when its header's
/// `alg` is the algorithm of the key its `kid` names (the signing key when it names none), its
/// signature verifies with that key, `iss` and `aud` are ours, and `nbf <= now < exp` (with 30 s
/// of leeway for `nbf` only, for clocks a little apart).
public final class AccessTokens: Sendable {
    /// Filled by a task started in `init` (the collection is an actor); every use awaits it.
    private let collection: Task<JWTKeyCollection, Never>
    private let algorithms: [String: AuthSettings.Key.Algorithm]
    private let signingKid: String
    let issuer: String
    let audience: String
    let lifetime: TimeInterval

    /// Keys already loaded: (kid, algorithm, material). Throws when a PEM key does not parse.
    init(keys: [(kid: String, algorithm: AuthSettings.Key.Algorithm, material: KeyMaterial)], signingKid: String,
         issuer: String, audience: String, lifetime: TimeInterval) throws {
        enum Parsed: Sendable {
            case hmac([UInt8])
            case eddsaPrivate(EdDSA.PrivateKey)
            case eddsaPublic(EdDSA.PublicKey)
            case es256Private(ES256PrivateKey)
            case es256Public(ES256PublicKey)
        }
        var parsed: [(String, Parsed)] = []
        var algorithms: [String: AuthSettings.Key.Algorithm] = [:]
        for key in keys {
            do {
                switch (key.algorithm, key.material) {
                case (.hs256, .secret(let bytes)): parsed.append((key.kid, .hmac(bytes)))
                case (.eddsa, .privatePEM(let pem)): parsed.append((key.kid, .eddsaPrivate(try EdDSA.PrivateKey(pem: pem))))
                case (.eddsa, .publicPEM(let pem)): parsed.append((key.kid, .eddsaPublic(try EdDSA.PublicKey(pem: pem))))
                case (.es256, .privatePEM(let pem)): parsed.append((key.kid, .es256Private(try ES256PrivateKey(pem: pem))))
                case (.es256, .publicPEM(let pem)): parsed.append((key.kid, .es256Public(try ES256PublicKey(pem: pem))))
                default: throw AuthConfigurationError("[auth] key \(key.kid): an HS256 key is a secret; EdDSA and ES256 keys are PEM")
                }
            } catch let error as AuthConfigurationError {
                throw error
            } catch {
                throw AuthConfigurationError("[auth] key \(key.kid): not a \(key.algorithm.rawValue) key in PEM form")
            }
            algorithms[key.kid] = key.algorithm
        }
        collection = Task {
            let collection = JWTKeyCollection()
            for (kid, key) in parsed {
                let id = JWKIdentifier(string: kid)
                switch key {
                case .hmac(let bytes): await collection.add(hmac: HMACKey(key: SymmetricKey(data: bytes)), digestAlgorithm: .sha256, kid: id)
                case .eddsaPrivate(let k): await collection.add(eddsa: k, kid: id)
                case .eddsaPublic(let k): await collection.add(eddsa: k, kid: id)
                case .es256Private(let k): await collection.add(ecdsa: k, kid: id)
                case .es256Public(let k): await collection.add(ecdsa: k, kid: id)
                }
            }
            return collection
        }
        self.algorithms = algorithms
        self.signingKid = signingKid
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
    }

    /// The material of one key, read from wherever the configuration keeps it.
    enum KeyMaterial {
        case secret([UInt8])
        case privatePEM(String)
        case publicPEM(String)
    }

    /// The keys and rules of `[auth]` (the key file made if it is missing), as `akis serve` uses them.
    public static func configured(_ settings: AuthSettings) throws -> AccessTokens {
        let loaded = try TokenKeyLoader.load(settings)
        return try AccessTokens(keys: loaded.keys, signingKid: loaded.signingKid, issuer: settings.issuer, audience: settings.audience,
                                lifetime: TimeInterval(settings.accessTTLNanos / 1_000_000_000))
    }

    /// A signed access token for `user`, valid from `now` for `lifetime` (default: the configured one).
    public func issue(id: UUID, username: String, roles: [String], level: String, now: Date = Date(),
                      lifetime: TimeInterval? = nil) async throws -> (token: String, expires: Date) {
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let expires = issued.addingTimeInterval(lifetime ?? self.lifetime)
        let claims = AccessClaims(iss: .init(value: issuer), aud: .init(value: [audience]), sub: .init(value: id.uuidString.lowercased()),
                                  exp: .init(value: expires), nbf: .init(value: issued), iat: .init(value: issued),
                                  jti: .init(value: UUID().uuidString.lowercased()), username: username, roles: roles, level: level)
        var header = JWTHeader()
        header.alg = algorithms[signingKid]!.rawValue
        header.typ = "JWT"
        return (try await collection.value.sign(claims, kid: JWKIdentifier(string: signingKid), header: header), expires)
    }

    /// The user of an `Authorization` header's bearer token, or a sentence saying what is wrong
    /// (no header, not "Bearer", or why the token is refused): what HTTP routes answer 401 with.
    public func verify(authorization header: String?, now: Date = Date()) async -> Result<AuthenticatedUser, AuthorizationRefusal> {
        guard let header else { return .failure(AuthorizationRefusal("this needs Authorization: Bearer <access token> (POST /api/auth/login)")) }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return .failure(AuthorizationRefusal("the Authorization header is not \"Bearer <access token>\""))
        }
        do {
            return .success(try await verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), now: now))
        } catch {
            return .failure(AuthorizationRefusal("the access token is refused: \(error.description)"))
        }
    }

    /// The user `token` speaks for, or why it is refused.
    public func verify(_ token: String, now: Date = Date()) async throws(TokenRejection) -> AuthenticatedUser {
        guard !token.isEmpty else { throw .missing }
        // 16 KiB is far beyond any token we issue; a longer one is not parsed at all.
        guard token.utf8.count <= 16_384 else { throw .malformed }
        let header: JWTHeader
        do {
            header = try DefaultJWTParser().parse(Array(token.utf8), as: AccessClaims.self).header
        } catch {
            throw .malformed
        }
        let kid = header.kid ?? signingKid
        guard let algorithm = algorithms[kid] else { throw .unknownKey }
        guard let alg = header.alg, alg == algorithm.rawValue else { throw .algorithm(header.alg ?? "") }
        let claims: AccessClaims
        do {
            claims = try await collection.value.verify(Array(token.utf8), as: AccessClaims.self)
        } catch {
            throw .signature
        }
        guard claims.iss.value == issuer else { throw .issuer }
        guard claims.aud.value.contains(audience) else { throw .audience }
        guard now < claims.exp.value else { throw .expired }
        guard now.addingTimeInterval(30) >= claims.nbf.value else { throw .notYetValid }
        guard let id = UUID(uuidString: claims.sub.value) else { throw .malformed }
        return AuthenticatedUser(id: id, username: claims.username, roles: claims.roles, level: claims.level, expires: claims.exp.value,
                                 tokenID: claims.jti.value)
    }
}

/// Why a request's `Authorization` header was refused, for a 401's message.
public struct AuthorizationRefusal: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// A configuration the auth module cannot start with (a key it cannot read, …). Never holds a secret.
public struct AuthConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
