import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Store
import Synchronization

/// The auth module's operations over PostgreSQL: each state change and its event commit in one
/// transaction (the event store's outbox). The HTTP routes and `akis users` are thin layers over it.
public final class AuthService: Sendable {
    public struct TokenPair: Sendable {
        public let accessToken: String
        public let accessExpires: Date
        public let refreshToken: String
        public let refreshExpires: Date
        public let user: UserSummary
    }

    public struct UserSummary: Sendable, Equatable {
        public let id: UUID
        public let username: String
        public let level: String
        public let roles: [String]
    }

    /// What the module did, by outcome, for its metrics (`akis_auth_*`).
    public final class Counts: Sendable {
        public let registered = Atomic<UInt64>(0)
        public let verified = Atomic<UInt64>(0)
        public let loggedIn = Atomic<UInt64>(0)
        public let loginsRefused = Atomic<UInt64>(0)
        public let lockouts = Atomic<UInt64>(0)
        public let refreshed = Atomic<UInt64>(0)
        public let refreshReuse = Atomic<UInt64>(0)
        init() {}
    }

    public let counts = Counts()
    let client: PostgresClient
    let events: EventStore
    let tokens: AccessTokens
    let hasher: PasswordHasher
    let settings: AuthSettings
    let logger: Logger
    /// Where links in mail point (`…/api/auth/verify-email?token=`).
    let publicURL: @Sendable () -> String

    public init(client: PostgresClient, events: EventStore, tokens: AccessTokens, hasher: PasswordHasher, settings: AuthSettings,
                publicURL: @escaping @Sendable () -> String, logger: Logger) {
        self.client = client
        self.events = events
        self.tokens = tokens
        self.hasher = hasher
        self.settings = settings
        self.publicURL = publicURL
        self.logger = logger
    }

    // MARK: Registration

    /// Registers a user (201), or says every rule the request fails (400) or that the email or
    /// username is taken (409). The verification mail goes out through the mail consumer.
    public func register(_ request: RegistrationRequest, source: String = "web") async throws -> UUID {
        var r = request
        r.email = r.email.trimmingCharacters(in: .whitespaces)
        r.username = r.username.precomposedStringWithCanonicalMapping
        r.firstName = r.firstName?.precomposedStringWithCanonicalMapping
        r.lastName = r.lastName?.precomposedStringWithCanonicalMapping
        let failures = RegistrationRules.check(r)
        guard failures.isEmpty else {
            var failure = AuthFailure(400, "validation_failed", "the registration breaks \(failures.count) rule\(failures.count == 1 ? "" : "s")")
            failure.rules = failures
            throw failure
        }
        let emailKey = IdentityKey.of(r.email), usernameKey = IdentityKey.of(r.username)
        try await refuseTaken(emailKey: emailKey, usernameKey: usernameKey)
        let hash = try await hasher.hash(r.password)
        let id = UUID()
        let event = Event.userRegistered(id: id, email: r.email, source: source, level: "basic")
        do {
            try await client.transaction(logger: logger) { c in
                try await c.query("""
                    INSERT INTO auth_users (id, email, email_key, username, username_key, password_hash, first_name, last_name, tckn, registration_source)
                    VALUES (\(id), \(r.email), \(emailKey), \(r.username), \(usernameKey), \(hash), \(r.firstName), \(r.lastName), \(r.tckn), \(source))
                    """, logger: logger)
                try await queueVerification(user: id, address: r.email, username: r.username, event: event, on: c)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // Registered by someone else between the check and the insert.
            try await refuseTaken(emailKey: emailKey, usernameKey: usernameKey)
            throw error
        }
        counts.registered.add(1, ordering: .relaxed)
        return id
    }

    private func refuseTaken(emailKey: String, usernameKey: String) async throws {
        let rows = try await client.query("""
            SELECT email_key = \(emailKey), username_key = \(usernameKey) FROM auth_users WHERE email_key = \(emailKey) OR username_key = \(usernameKey)
            """, logger: logger)
        for try await (email, username) in rows.decode((Bool, Bool).self) {
            if email { throw AuthFailure(409, "email_taken", "an account with this email address exists") }
            if username { throw AuthFailure(409, "username_taken", "this username is taken") }
        }
    }

    /// Sends a new verification link to an unverified, enabled account with this address (its
    /// earlier links stop working). Answers the same whether or not there is one, so that it
    /// tells no one which addresses have accounts.
    public func resendVerification(email: String) async throws {
        let key = IdentityKey.of(email.trimmingCharacters(in: .whitespaces))
        guard RegistrationRules.email(email.trimmingCharacters(in: .whitespaces)).isEmpty else {
            throw AuthFailure(400, "validation_failed", "the email address is not well-formed")
        }
        let rows = try await client.query("""
            SELECT id, email, username FROM auth_users WHERE email_key = \(key) AND email_verified_at IS NULL AND disabled_at IS NULL
            """, logger: logger)
        var found: (UUID, String, String)?
        for try await row in rows.decode((UUID, String, String).self) { found = row }
        guard let (id, address, username) = found else { return }
        let userKey = id.uuidString.lowercased()
        let event = Event(.userProfileUpdated, key: userKey, data: [("userId", .string(userKey)), ("verificationMail", .string("resent"))])
        try await client.transaction(logger: logger) { c in
            try await c.query("UPDATE auth_email_verifications SET used_at = now() WHERE user_id = \(id) AND used_at IS NULL", logger: logger)
            try await queueVerification(user: id, address: address, username: username, event: event, on: c)
        }
    }

    /// In the caller's transaction: a new verification token (its SHA-256 kept, valid for
    /// `verification_ttl`), the mail with its link waiting in the outbox under `event`'s id, and
    /// `event`, whose commit wakes the mail consumer.
    private func queueVerification(user id: UUID, address: String, username: String, event: Event, on c: PostgresConnection) async throws {
        let verification = OpaqueToken()
        let seconds = settings.verificationTTLNanos / 1_000_000_000
        let mail = VerificationMail(to: address, username: username, link: "\(publicURL())/api/auth/verify-email?token=\(verification.text)",
                                    validHours: Int(seconds / 3600))
        try await c.query("""
            INSERT INTO auth_email_verifications (token_hash, user_id, expires_at)
            VALUES (\(ByteBuffer(bytes: verification.digest)), \(id), now() + \(seconds) * INTERVAL '1 second')
            """, logger: logger)
        try await c.query("""
            INSERT INTO auth_mail_outbox (event_id, recipient, subject, body) VALUES (\(event.id), \(address), \(mail.subject), \(mail.body))
            """, logger: logger)
        try await events.append([event], on: c, logger: logger)
    }

    /// Verifies the email of the account a verification token was sent for.
    public func verifyEmail(token: String) async throws {
        guard OpaqueToken.isWellFormed(token) else { throw AuthFailure(400, "verification_invalid", "the verification token is not one of ours") }
        let digest = ByteBuffer(bytes: OpaqueToken.digest(of: token))
        try await client.transaction(logger: logger) { c in
            let rows = try await c.query("""
                SELECT v.user_id, u.email, v.used_at IS NOT NULL, v.expires_at <= now(), u.email_verified_at IS NOT NULL
                FROM auth_email_verifications v JOIN auth_users u ON u.id = v.user_id WHERE v.token_hash = \(digest) FOR UPDATE OF v
                """, logger: logger)
            var found: (UUID, String, Bool, Bool, Bool)?
            for try await row in rows.decode((UUID, String, Bool, Bool, Bool).self) { found = row }
            guard let (user, email, used, expired, verified) = found else {
                throw AuthFailure(400, "verification_invalid", "the verification token is unknown")
            }
            if used || verified { throw AuthFailure(400, "verification_used", "this email address is verified already") }
            if expired { throw AuthFailure(400, "verification_expired", "the verification link has expired; ask for a new one (POST /api/auth/resend-verification)") }
            try await c.query("UPDATE auth_email_verifications SET used_at = now() WHERE token_hash = \(digest)", logger: logger)
            try await c.query("UPDATE auth_users SET email_verified_at = now(), updated_at = now() WHERE id = \(user)", logger: logger)
            try await events.append([Event(.userEmailVerified, key: user.uuidString.lowercased(), data: [
                ("userId", .string(user.uuidString.lowercased())), ("email", .string(email)),
            ])], on: c, logger: logger)
        }
        counts.verified.add(1, ordering: .relaxed)
    }

    // MARK: Login

    /// Logs in with an email or a username: a token pair, or a refusal. An unknown user and a
    /// wrong password get the same 401 after the same BCrypt work.
    public func login(identifier: String, password: String, address: String?) async throws -> TokenPair {
        do {
            let pair = try await attemptLogin(identifier: identifier, password: password, address: address)
            counts.loggedIn.add(1, ordering: .relaxed)
            return pair
        } catch let failure as AuthFailure {
            counts.loginsRefused.add(1, ordering: .relaxed)
            if failure.code == "account_locked" { counts.lockouts.add(1, ordering: .relaxed) }
            throw failure
        }
    }

    private func attemptLogin(identifier: String, password: String, address: String?) async throws -> TokenPair {
        let key = IdentityKey.of(identifier.trimmingCharacters(in: .whitespaces))
        guard !key.isEmpty, key.utf8.count <= RegistrationRules.maximumEmailBytes, password.utf8.count <= 4096 else {
            _ = try await hasher.verify(password.count <= 4096 ? password : "", hash: nil)
            throw AuthFailure.invalidCredentials
        }
        let column = key.contains("@") ? "email_key" : "username_key"
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            SELECT id, username, password_hash, level, roles, email_verified_at IS NOT NULL, disabled_at IS NOT NULL, locked_until
            FROM auth_users WHERE \(column) = $1
            """, binds: { var b = PostgresBindings(); b.append(key); return b }()), logger: logger)
        var found: (UUID, String, String, String, [String], Bool, Bool, Date?)?
        for try await row in rows.decode((UUID, String, String, String, [String], Bool, Bool, Date?).self) { found = row }
        let matches = try await hasher.verify(password, hash: found?.2)
        let ip = JSONValue.string(address ?? "")
        guard let (id, username, _, level, roles, verified, disabled, lockedUntil) = found else {
            try await append(Event(.userLoginFailed, key: "unknown", data: [("userId", .null), ("reason", .string("unknown_user")), ("ip", ip)]))
            throw AuthFailure.invalidCredentials
        }
        let userKey = id.uuidString.lowercased()
        func failed(_ reason: String) -> Event {
            Event(.userLoginFailed, key: userKey, data: [("userId", .string(userKey)), ("reason", .string(reason)), ("ip", ip)])
        }
        if let lockedUntil, lockedUntil > Date() {
            try await append(failed("locked"))
            throw locked(until: lockedUntil)
        }
        guard matches else {
            let lockSeconds = settings.lockoutNanos / 1_000_000_000
            let until: Date? = try await client.transaction(logger: logger) { c in
                let rows = try await c.query("""
                    UPDATE auth_users SET
                        locked_until = CASE WHEN failed_logins + 1 >= \(settings.maximumFailedLogins) THEN now() + \(lockSeconds) * INTERVAL '1 second' END,
                        failed_logins = CASE WHEN failed_logins + 1 >= \(settings.maximumFailedLogins) THEN 0 ELSE failed_logins + 1 END
                    WHERE id = \(id) RETURNING locked_until
                    """, logger: logger)
                var until: Date?
                for try await value in rows.decode(Date?.self) { until = value }
                try await events.append([failed(until == nil ? "wrong_password" : "wrong_password_locked")], on: c, logger: logger)
                return until
            }
            if let until { throw locked(until: until) }
            throw AuthFailure.invalidCredentials
        }
        if disabled {
            try await append(failed("disabled"))
            throw AuthFailure(401, "account_disabled", "this account is disabled")
        }
        if !verified && settings.requireVerifiedEmail {
            try await append(failed("unverified"))
            throw AuthFailure(403, "email_not_verified", "verify your email address first: follow the link in the mail sent when you registered")
        }
        let user = UserSummary(id: id, username: username, level: level, roles: roles)
        let refresh = OpaqueToken()
        let refreshExpires = try await client.transaction(logger: logger) { c in
            try await c.query("UPDATE auth_users SET failed_logins = 0, locked_until = NULL, last_login = now() WHERE id = \(id)", logger: logger)
            let expires = try await insertRefresh(refresh, family: UUID(), user: id, on: c)
            try await events.append([Event(.userLoggedIn, key: userKey, data: [
                ("userId", .string(userKey)), ("username", .string(username)), ("ip", ip), ("subscriptionLevel", .string(level)),
            ])], on: c, logger: logger)
            return expires
        }
        let access = try await tokens.issue(id: id, username: username, roles: roles, level: level)
        return TokenPair(accessToken: access.token, accessExpires: access.expires, refreshToken: refresh.text, refreshExpires: refreshExpires, user: user)
    }

    private func locked(until: Date) -> AuthFailure {
        var failure = AuthFailure(423, "account_locked", "too many failed logins: the account is locked until \(until.formatted(.iso8601))")
        failure.fields["lockedUntil"] = until.formatted(.iso8601)
        failure.retryAfter = max(1, Int(until.timeIntervalSinceNow.rounded(.up)))
        return failure
    }

    private func append(_ event: Event) async throws {
        _ = try await client.transaction(logger: logger) { c in try await events.append([event], on: c, logger: logger) }
    }

    private func insertRefresh(_ token: OpaqueToken, family: UUID, user: UUID, on c: PostgresConnection) async throws -> Date {
        let seconds = settings.refreshTTLNanos / 1_000_000_000
        let rows = try await c.query("""
            INSERT INTO auth_refresh_tokens (token_hash, family, user_id, expires_at)
            VALUES (\(ByteBuffer(bytes: token.digest)), \(family), \(user), now() + \(seconds) * INTERVAL '1 second') RETURNING expires_at
            """, logger: logger)
        for try await expires in rows.decode(Date.self) { return expires }
        throw AuthFailure(500, "internal", "the refresh token was not stored")
    }

    // MARK: Refresh and logout

    private enum RefreshOutcome {
        case rotated(UserSummary, refreshExpires: Date)
        case refused(AuthFailure)
    }

    /// Rotates a refresh token: it is used up and a new pair is issued in the same family. A token
    /// presented again after it was rotated revokes its whole family (someone else has a copy).
    public func refresh(token: String) async throws -> TokenPair {
        guard OpaqueToken.isWellFormed(token) else { throw AuthFailure(401, "refresh_invalid", "the refresh token is unknown; log in again") }
        let digest = ByteBuffer(bytes: OpaqueToken.digest(of: token))
        let next = OpaqueToken()
        // A refusal that revokes must still commit: the transaction returns it instead of throwing.
        let outcome: RefreshOutcome = try await client.transaction(logger: logger) { c in
            let rows = try await c.query("""
                SELECT r.family, r.user_id, r.used_at IS NOT NULL, r.revoked_at IS NOT NULL, r.expires_at <= now(),
                       u.disabled_at IS NOT NULL, u.username, u.level, u.roles
                FROM auth_refresh_tokens r JOIN auth_users u ON u.id = r.user_id WHERE r.token_hash = \(digest) FOR UPDATE OF r
                """, logger: logger)
            var found: (UUID, UUID, Bool, Bool, Bool, Bool, String, String, [String])?
            for try await row in rows.decode((UUID, UUID, Bool, Bool, Bool, Bool, String, String, [String]).self) { found = row }
            guard let (family, user, used, revoked, expired, disabled, username, level, roles) = found else {
                return .refused(AuthFailure(401, "refresh_invalid", "the refresh token is unknown; log in again"))
            }
            if revoked { return .refused(AuthFailure(401, "refresh_revoked", "the refresh token was revoked; log in again")) }
            if used {
                try await revokeFamily(family, on: c)
                logger.warning("auth: a rotated refresh token of user \(user) was presented again; its login is revoked")
                return .refused(AuthFailure(401, "refresh_reused", "the refresh token was used before: every token of this login is revoked; log in again"))
            }
            if expired { return .refused(AuthFailure(401, "refresh_expired", "the refresh token has expired; log in again")) }
            if disabled {
                try await revokeFamily(family, on: c)
                return .refused(AuthFailure(401, "account_disabled", "this account is disabled"))
            }
            try await c.query("UPDATE auth_refresh_tokens SET used_at = now() WHERE token_hash = \(digest)", logger: logger)
            let expires = try await insertRefresh(next, family: family, user: user, on: c)
            return .rotated(UserSummary(id: user, username: username, level: level, roles: roles), refreshExpires: expires)
        }
        switch outcome {
        case .rotated(let user, let refreshExpires):
            // Signed after the commit: the token row's lock is not held for it.
            let access = try await tokens.issue(id: user.id, username: user.username, roles: user.roles, level: user.level)
            counts.refreshed.add(1, ordering: .relaxed)
            return TokenPair(accessToken: access.token, accessExpires: access.expires, refreshToken: next.text, refreshExpires: refreshExpires, user: user)
        case .refused(let failure):
            if failure.code == "refresh_reused" { counts.refreshReuse.add(1, ordering: .relaxed) }
            throw failure
        }
    }

    /// Revokes the login (the family) a refresh token belongs to.
    public func logout(token: String) async throws {
        guard OpaqueToken.isWellFormed(token) else { throw AuthFailure(401, "refresh_invalid", "the refresh token is unknown") }
        let digest = ByteBuffer(bytes: OpaqueToken.digest(of: token))
        let revoked: Bool = try await client.transaction(logger: logger) { c in
            let rows = try await c.query("SELECT family FROM auth_refresh_tokens WHERE token_hash = \(digest)", logger: logger)
            for try await family in rows.decode(UUID.self) {
                try await revokeFamily(family, on: c)
                return true
            }
            return false
        }
        if !revoked { throw AuthFailure(401, "refresh_invalid", "the refresh token is unknown") }
    }

    private func revokeFamily(_ family: UUID, on c: PostgresConnection) async throws {
        try await c.query("UPDATE auth_refresh_tokens SET revoked_at = now() WHERE family = \(family) AND revoked_at IS NULL", logger: logger)
    }

    /// Removes expired refresh tokens and verification tokens (the maintenance service, hourly);
    /// a day after expiry, so that a late reuse is still recognised as reuse for a while.
    public func removeExpired() async throws -> Int {
        var removed = 0
        for table in ["auth_refresh_tokens", "auth_email_verifications"] {
            let rows = try await client.query(PostgresQuery(unsafeSQL: "WITH d AS (DELETE FROM \(table) WHERE expires_at < now() - INTERVAL '1 day' RETURNING 1) SELECT count(*) FROM d"),
                                              logger: logger)
            for try await n in rows.decode(Int.self) { removed += n }
        }
        return removed
    }
}
