import Events
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Store

/// What operators do to accounts (`akis users …`), each change with its event in one transaction:
/// `UserRegistered` (source "cli") for an added user, `UserProfileUpdated` for the rest.
public struct UserAdministration: Sendable {
    public struct Account: Sendable, Equatable {
        public let id: UUID
        public let username: String
        public let email: String
        public let level: String
        public let roles: [String]
        public let verified: Bool
        public let disabled: Bool
        public let lockedUntil: Date?
        public let lastLogin: Date?
    }

    let client: PostgresClient
    let events: EventStore
    let hasher: PasswordHasher
    let logger: Logger

    public init(client: PostgresClient, events: EventStore = EventStore(), hasher: PasswordHasher, logger: Logger) {
        self.client = client
        self.events = events
        self.hasher = hasher
        self.logger = logger
    }

    /// Adds a verified account (the operator vouches for the address); the same rules as a
    /// registration, every failed one in the error.
    public func add(username: String, email: String, password: String, level: String) async throws -> UUID {
        let request = RegistrationRequest(email: email, username: username.precomposedStringWithCanonicalMapping, password: password)
        let failures = RegistrationRules.check(request)
        guard failures.isEmpty else {
            throw AuthFailure(400, "validation_failed", failures.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        }
        try Self.checkLevel(level)
        let hash = try await hasher.hash(password)
        let id = UUID()
        do {
            try await client.transaction(logger: logger) { c in
                try await c.query("""
                    INSERT INTO auth_users (id, email, email_key, username, username_key, password_hash, level, registration_source, email_verified_at)
                    VALUES (\(id), \(email), \(IdentityKey.of(email)), \(request.username), \(IdentityKey.of(request.username)), \(hash), \(level), 'cli', now())
                    """, logger: logger)
                try await events.append([.userRegistered(id: id, email: email, source: "cli", level: level)], on: c, logger: logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw AuthFailure(409, "taken", "an account with this email address or username exists")
        }
        return id
    }

    /// Every account, or the one whose username or email has `key` (an `IdentityKey`).
    public func list(key: String? = nil) async throws -> [Account] {
        let rows = try await client.query("""
            SELECT id, username, email, level, roles, email_verified_at IS NOT NULL, disabled_at IS NOT NULL, locked_until, last_login
            FROM auth_users WHERE \(key)::text IS NULL OR username_key = \(key) OR email_key = \(key) ORDER BY created_at, username
            """, logger: logger)
        var out: [Account] = []
        for try await (id, username, email, level, roles, verified, disabled, locked, last)
            in rows.decode((UUID, String, String, String, [String], Bool, Bool, Date?, Date?).self) {
            out.append(Account(id: id, username: username, email: email, level: level, roles: roles, verified: verified, disabled: disabled,
                               lockedUntil: locked.flatMap { $0 > Date() ? $0 : nil }, lastLogin: last))
        }
        return out
    }

    /// Disables an account (its logins and refreshes are refused, its refresh tokens revoked) or enables it again.
    public func setDisabled(_ user: String, _ disabled: Bool) async throws {
        try await change(find(user), fields: [("disabled", .bool(disabled))]) { id, c in
            try await c.query("UPDATE auth_users SET disabled_at = CASE WHEN \(disabled) THEN now() END, updated_at = now() WHERE id = \(id)", logger: logger)
            if disabled { try await revokeSessions(of: id, on: c) }
        }
    }

    public func setLevel(_ user: String, _ level: String) async throws {
        try Self.checkLevel(level)
        try await change(find(user), fields: [("subscriptionLevel", .string(level))]) { id, c in
            try await c.query("UPDATE auth_users SET level = \(level), updated_at = now() WHERE id = \(id)", logger: logger)
        }
    }

    /// Sets a new password (checked by the registration's rules), ends the lock and every login.
    public func resetPassword(_ user: String, _ password: String) async throws {
        let account = try await find(user)
        let failures = RegistrationRules.password(password, username: account.username, email: account.email)
        guard failures.isEmpty else { throw AuthFailure(400, "validation_failed", failures.map(\.message).joined(separator: "; ")) }
        let hash = try await hasher.hash(password)
        try await change(account, fields: [("password", .string("reset"))]) { id, c in
            try await c.query("UPDATE auth_users SET password_hash = \(hash), failed_logins = 0, locked_until = NULL, updated_at = now() WHERE id = \(id)", logger: logger)
            try await revokeSessions(of: id, on: c)
        }
    }

    /// The account named by username or email (Turkish-folded, as logins are).
    public func find(_ user: String) async throws -> Account {
        if let account = try await list(key: IdentityKey.of(user)).first { return account }
        throw AuthFailure(404, "unknown_user", "no account is named \(user.debugDescription)")
    }

    /// Runs `body` on the account in a transaction with its `UserProfileUpdated` event.
    private func change(_ account: Account, fields: [(String, JSONValue)], _ body: @escaping @Sendable (UUID, PostgresConnection) async throws -> Void) async throws {
        let key = account.id.uuidString.lowercased()
        try await client.transaction(logger: logger) { c in
            try await body(account.id, c)
            try await events.append([Event(.userProfileUpdated, key: key, data: [("userId", .string(key)), ("source", .string("cli"))] + fields)],
                                    on: c, logger: logger)
        }
    }

    /// Revokes every refresh token of the user: each of their logins ends at its next refresh.
    private func revokeSessions(of id: UUID, on c: PostgresConnection) async throws {
        try await c.query("UPDATE auth_refresh_tokens SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL", logger: logger)
    }

    private static func checkLevel(_ level: String) throws {
        guard ["basic", "pro"].contains(level) else { throw AuthFailure(400, "bad_level", "the level is basic or pro, not \(level.debugDescription)") }
    }
}
