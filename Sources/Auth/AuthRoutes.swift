import Daemon
import Foundation
import Hummingbird
import Ingest
import NIOCore

/// `/api/auth/*`: thin handlers over `AuthService`. Every request body is JSON (415 otherwise) of
/// at most 64 KiB (413); bad JSON, or a field of the wrong type, is a 400 that says so; every
/// refusal is `{"error": code, "message": …}` with the fields the case adds.
struct AuthRoutes {
    let service: AuthService
    let tokens: AccessTokens
    let perAddress: RateLimiter
    let perAccount: RateLimiter

    static let maximumBody = 64 * 1024

    func add(to router: Router<DaemonRequestContext>) {
        router.post("/api/auth/register") { request, context in
            await answer { () async throws -> Response in
                try limit(context: context, account: nil)
                let body = try await decode(RegistrationRequest.self, request)
                try limit(context: context, account: "register:" + IdentityKey.of(body.email))
                let id = try await service.register(body)
                return json(.created, [
                    "userId": .string(id.uuidString.lowercased()),
                    "message": .string("registered; a verification mail is on its way to \(body.email.trimmingCharacters(in: .whitespaces))"),
                ])
            }
        }
        router.post("/api/auth/verify-email") { request, _ in
            await answer { () async throws -> Response in
                let body = try await decode(TokenBody.self, request)
                try await service.verifyEmail(token: body.token ?? "")
                return json(.ok, ["verified": .bool(true)])
            }
        }
        router.post("/api/auth/resend-verification") { request, context in
            await answer { () async throws -> Response in
                try limit(context: context, account: nil)
                let body = try await decode(EmailBody.self, request)
                guard let email = body.email else { throw AuthFailure.badRequest("a resend needs \"email\"") }
                try limit(context: context, account: "resend:" + IdentityKey.of(email))
                try await service.resendVerification(email: email)
                return json(.accepted, ["message": .string("if an unverified account has this address, a new verification link is on its way")])
            }
        }
        // The link in the verification mail.
        router.get("/api/auth/verify-email") { request, _ in
            await answer { () async throws -> Response in
                try await service.verifyEmail(token: request.uri.queryParameters.get("token") ?? "")
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "Your email address is verified. You can log in now.\n")))
            }
        }
        router.post("/api/auth/login") { request, context in
            await answer { () async throws -> Response in
                try limit(context: context, account: nil)
                let body = try await decode(LoginBody.self, request)
                guard let login = body.login ?? body.email ?? body.username, let password = body.password else {
                    throw AuthFailure.badRequest("a login needs \"login\" (or \"email\" or \"username\") and \"password\"")
                }
                try limit(context: context, account: "login:" + IdentityKey.of(login))
                return json(.ok, pair(try await service.login(identifier: login, password: password, address: address(context))))
            }
        }
        router.post("/api/auth/refresh") { request, context in
            await answer { () async throws -> Response in
                try limit(context: context, account: nil)
                let body = try await decode(RefreshBody.self, request)
                guard let token = body.refreshToken else { throw AuthFailure.badRequest("a refresh needs \"refreshToken\"") }
                try limit(context: context, account: "refresh:" + String(token.prefix(64)))
                return json(.ok, pair(try await service.refresh(token: token)))
            }
        }
        router.post("/api/auth/logout") { request, _ in
            await answer { () async throws -> Response in
                let body = try await decode(RefreshBody.self, request)
                guard let token = body.refreshToken else { throw AuthFailure.badRequest("a logout needs \"refreshToken\"") }
                try await service.logout(token: token)
                return Response(status: .noContent)
            }
        }
        // Who a token speaks for: what a client can check its token with.
        router.get("/api/auth/me") { request, _ in
            await answer { () async throws -> Response in
                let user = try await AuthRoutes.authenticate(request, tokens: tokens)
                return json(.ok, [
                    "userId": .string(user.id.uuidString.lowercased()), "username": .string(user.username),
                    "roles": .array(user.roles.map { .string($0) }), "subscriptionLevel": .string(user.level),
                    "expiresAt": .string(user.expires.formatted(.iso8601)),
                ])
            }
        }
    }

    /// The user of a request's `Authorization: Bearer` token, or a 401 that says what is wrong.
    static func authenticate(_ request: Request, tokens: AccessTokens) async throws -> AuthenticatedUser {
        switch await tokens.verify(authorization: request.headers[.authorization]) {
        case .success(let user): return user
        case .failure(let refusal): throw AuthFailure(401, "unauthorized", refusal.message)
        }
    }

    private struct TokenBody: Decodable { let token: String? }
    private struct EmailBody: Decodable { let email: String? }
    private struct LoginBody: Decodable {
        let login: String?
        let email: String?
        let username: String?
        let password: String?
    }
    private struct RefreshBody: Decodable { let refreshToken: String? }

    private func address(_ context: DaemonRequestContext) -> String? { context.channel.remoteAddress?.ipAddress }

    private func limit(context: DaemonRequestContext, account: String?) throws {
        let now = Clock.monotonicNanos()
        let wait = if let account { perAccount.take(account, now: now) } else { perAddress.take(address(context) ?? "unknown", now: now) }
        guard let wait else { return }
        var failure = AuthFailure(429, "rate_limited", "too many requests \(account == nil ? "from this address" : "for this account"); try again in \(wait) s")
        failure.retryAfter = wait
        throw failure
    }

    private func decode<T: Decodable>(_: T.Type, _ request: Request) async throws -> T {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
            throw AuthFailure(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maximumBody)
        } catch {
            throw AuthFailure(413, "body_too_large", "the body is larger than \(Self.maximumBody / 1024) KiB")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw AuthFailure.badRequest("field \(context.codingPath.map(\.stringValue).joined(separator: ".").debugDescription) has the wrong type")
        } catch DecodingError.keyNotFound(let key, _) {
            throw AuthFailure.badRequest("field \(key.stringValue.debugDescription) is missing")
        } catch {
            throw AuthFailure.badRequest("the body is not valid JSON (UTF-8)")
        }
    }

    private func pair(_ p: AuthService.TokenPair) -> [String: JSONReply] {
        [
            "accessToken": .string(p.accessToken), "tokenType": .string("Bearer"),
            "expiresIn": .integer(Int(p.accessExpires.timeIntervalSinceNow.rounded())),
            "refreshToken": .string(p.refreshToken), "refreshExpiresAt": .string(p.refreshExpires.formatted(.iso8601)),
            "user": .object([
                "id": .string(p.user.id.uuidString.lowercased()), "username": .string(p.user.username),
                "subscriptionLevel": .string(p.user.level), "roles": .array(p.user.roles.map { .string($0) }),
            ]),
        ]
    }

    /// Runs a handler; an `AuthFailure` becomes its JSON reply, anything else a 503 (the database
    /// is down, …) whose message names no connection detail.
    private func answer(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let failure as AuthFailure {
            var reply: [String: JSONReply] = ["error": .string(failure.code), "message": .string(failure.message)]
            if !failure.rules.isEmpty {
                reply["rules"] = .array(failure.rules.map { .object(["field": .string($0.field), "rule": .string($0.rule), "message": .string($0.message)]) })
            }
            for (key, value) in failure.fields { reply[key] = .string(value) }
            var response = json(HTTPResponse.Status(code: failure.status), reply)
            if let wait = failure.retryAfter { response.headers[.retryAfter] = "\(wait)" }
            return response
        } catch {
            service.logger.error("auth: a request failed: \(String(describing: type(of: error)))")
            return json(.serviceUnavailable, ["error": .string("unavailable"), "message": .string("the service cannot answer now; try again later")])
        }
    }
}

/// A JSON value of a reply, encoded with sorted keys.
enum JSONReply: Encodable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([JSONReply])
    case object([String: JSONReply])

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

func json(_ status: HTTPResponse.Status, _ value: [String: JSONReply]) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
