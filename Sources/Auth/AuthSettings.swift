import AkisConfig
import Ingest

/// `[auth]`: users, passwords and tokens (docs/auth.md). Without the table the module is off:
/// no auth routes, and the market data is open. With it (even empty) the routes are served and,
/// by default, the market data needs a token.
public struct AuthSettings: ModuleSettings {
    public static let section = "auth"

    /// One key tokens are signed or checked with (`[[auth.keys]]`).
    public struct Key: Sendable, Equatable {
        public enum Algorithm: String, CaseIterable, Sendable {
            case hs256 = "HS256"
            case eddsa = "EdDSA"
            case es256 = "ES256"
        }

        /// Where its material is: never printed, never logged.
        public typealias Source = SecretSource

        public var kid: String
        public var algorithm: Algorithm
        /// HS256: the shared secret (at least 32 bytes). EdDSA and ES256: the private key in PEM,
        /// or nil for a key that only verifies (`public_key_file`).
        public var secret: Source?
        /// EdDSA and ES256: the public key in PEM, for a key that only verifies.
        public var publicKeyFile: String?

        public init(kid: String, algorithm: Algorithm, secret: Source?, publicKeyFile: String? = nil) {
            self.kid = kid
            self.algorithm = algorithm
            self.secret = secret
            self.publicKeyFile = publicKeyFile
        }
    }

    /// What a subscription level allows on the market-data socket.
    public struct Limits: Sendable, Equatable {
        public var symbolsPerConnection: Int
        public var connectionsPerUser: Int
    }

    /// How mail leaves.
    public enum MailTransport: String, CaseIterable, Sendable {
        /// `.eml` files in a maildir (`maildir`), one per message, readable by people and mail clients.
        case maildir
        /// Each message piped to `sendmail_command` (any sendmail-compatible MTA: msmtp, Postfix, Exim).
        case sendmail
    }

    /// The `[auth]` table was in the file.
    public var enabled = false
    /// The market data (`/api/market/*`, `/ws/market-data`) needs a token.
    public var required = false
    public var bcryptCost = 12
    /// Threads that hash passwords (off the event loops, at the lowest priority). One by default:
    /// a login storm then takes at most one core from the hot path and PostgreSQL.
    public var bcryptThreads = 1
    /// The most of each hashing thread's core that hashing takes (a hash that took t is followed
    /// by a rest of t × (1 − share) / share): fewer logins per second, less taken from the ticks.
    public var bcryptCPUShare = 1.0
    /// A login or registration that would wait longer than this for a hashing thread is refused
    /// at once: 503 `busy` with `Retry-After`.
    public var bcryptMaximumWaitNanos: Int64 = 10_000_000_000
    public var issuer = "akis"
    public var audience = "akis"
    public var accessTTLNanos: Int64 = 15 * 60 * 1_000_000_000
    public var refreshTTLNanos: Int64 = 7 * 24 * 3600 * 1_000_000_000
    public var verificationTTLNanos: Int64 = 24 * 3600 * 1_000_000_000
    /// Failed logins in a row that lock an account, and for how long.
    public var maximumFailedLogins = 5
    public var lockoutNanos: Int64 = 15 * 60 * 1_000_000_000
    /// Accounts log in only once their email is verified.
    public var requireVerifiedEmail = true
    /// The keys; empty: one HS256 key generated into `key_file` on first start.
    public var keys: [Key] = []
    /// The kid that signs new tokens (default: the first key).
    public var signingKid: String?
    public var keyFile = "/var/lib/akis/auth/jwt-hs256.key"
    /// Where links in mail point (default: the HTTP address).
    public var publicURL: String?
    public var mailFrom = "Akis <no-reply@localhost>"
    public var mail = MailTransport.maildir
    public var maildir = "/var/lib/akis/mail"
    public var sendmailCommand = ["/usr/sbin/sendmail", "-t", "-i"]
    public var levels: [String: Limits] = [
        "basic": Limits(symbolsPerConnection: 50, connectionsPerUser: 2),
        "pro": Limits(symbolsPerConnection: 2_000, connectionsPerUser: 10),
    ]
    /// Requests per minute per client address, and per account, on register, login and refresh.
    public var requestsPerMinutePerAddress = 30
    public var requestsPerMinutePerAccount = 10

    public init() {}

    public mutating func read(_ section: inout ConfigSection) throws(ConfigError) {
        enabled = true
        required = try section.bool("required", default: true)
        bcryptCost = try section.integer("bcrypt_cost", default: bcryptCost, in: 4...31)
        bcryptThreads = try section.integer("bcrypt_threads", default: bcryptThreads, in: 1...64)
        bcryptCPUShare = try section.number("bcrypt_cpu_share", default: bcryptCPUShare, in: 0.01...1)
        bcryptMaximumWaitNanos = try section.duration("bcrypt_max_wait", default: bcryptMaximumWaitNanos, in: 1_000_000_000...600_000_000_000)
        issuer = try nonEmpty(&section, "issuer", issuer)
        audience = try nonEmpty(&section, "audience", audience)
        accessTTLNanos = try section.duration("access_ttl", default: accessTTLNanos, in: 10_000_000_000...86_400_000_000_000)
        refreshTTLNanos = try section.duration("refresh_ttl", default: refreshTTLNanos, in: 60_000_000_000...(366 * 86_400_000_000_000))
        verificationTTLNanos = try section.duration("verification_ttl", default: verificationTTLNanos, in: 60_000_000_000...(30 * 86_400_000_000_000))
        maximumFailedLogins = try section.integer("max_failed_logins", default: maximumFailedLogins, in: 1...1000)
        lockoutNanos = try section.duration("lockout", default: lockoutNanos, in: 1_000_000_000...(30 * 86_400_000_000_000))
        requireVerifiedEmail = try section.bool("require_verified_email", default: requireVerifiedEmail)
        keyFile = try nonEmpty(&section, "key_file", keyFile)
        publicURL = try section.string("public_url")
        if let url = publicURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw section.fail("public_url", "\(Sanitized(url)) is not an http:// or https:// URL")
        }
        mailFrom = try nonEmpty(&section, "mail_from", mailFrom)
        if mailFrom.contains(where: { $0 == "\r" || $0 == "\n" }) { throw section.fail("mail_from", "has a line break") }
        mail = try section.choice("mail", default: mail)
        maildir = try nonEmpty(&section, "maildir", maildir)
        sendmailCommand = try section.stringArray("sendmail_command") ?? sendmailCommand
        if sendmailCommand.first?.hasPrefix("/") != true { throw section.fail("sendmail_command", "is [\"/absolute/path\", \"arguments\"…]") }
        requestsPerMinutePerAddress = try section.integer("requests_per_minute_per_address", default: requestsPerMinutePerAddress, in: 1...1_000_000)
        requestsPerMinutePerAccount = try section.integer("requests_per_minute_per_account", default: requestsPerMinutePerAccount, in: 1...1_000_000)
        for var table in try section.sections("keys") {
            keys.append(try readKey(&table))
            try table.finish()
        }
        var kids = Set<String>()
        for key in keys where !kids.insert(key.kid).inserted { throw section.fail("keys", "kid \(Sanitized(key.kid)) appears twice") }
        signingKid = try section.string("signing_kid")
        if let kid = signingKid {
            guard let key = keys.first(where: { $0.kid == kid }) else { throw section.fail("signing_kid", "\(Sanitized(kid)) is not the kid of an [[auth.keys]] table") }
            if key.secret == nil { throw section.fail("signing_kid", "key \(Sanitized(kid)) has only a public key; it cannot sign") }
        } else if let first = keys.first, first.secret == nil {
            throw section.fail("signing_kid", "the first key (\(Sanitized(first.kid))) only verifies; name the key that signs")
        }
        if var table = try section.section("levels") {
            for name in ["basic", "pro"] {
                guard var level = try table.section(name) else { continue }
                var limits = levels[name]!
                limits.symbolsPerConnection = try level.integer("symbols_per_connection", default: limits.symbolsPerConnection, in: 1...100_000)
                limits.connectionsPerUser = try level.integer("connections_per_user", default: limits.connectionsPerUser, in: 1...100_000)
                levels[name] = limits
                try level.finish()
            }
            try table.finish()
        }
    }

    private func readKey(_ table: inout ConfigSection) throws(ConfigError) -> Key {
        guard let kid = try table.string("kid"), !kid.isEmpty, kid.count <= 64, kid.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw table.fail("kid", "each key needs a kid: 1 to 64 ASCII characters, no spaces")
        }
        let algorithm = try table.choice("algorithm", default: Key.Algorithm.hs256)
        let sources: [Key.Source] = [
            try table.string("secret").map(Key.Source.inline), try table.string("secret_env").map(Key.Source.environment),
            try table.string("secret_file").map(Key.Source.file), try table.string("private_key_file").map(Key.Source.file),
            try table.string("private_key_env").map(Key.Source.environment),
        ].compactMap { $0 }
        let publicKeyFile = try table.string("public_key_file")
        guard sources.count <= 1 else { throw table.fail("secret", "give the key's material once: secret, secret_env, secret_file, private_key_file or private_key_env") }
        switch algorithm {
        case .hs256:
            guard sources.count == 1, publicKeyFile == nil else { throw table.fail("secret", "an HS256 key needs secret_env, secret_file or secret (at least 32 bytes)") }
            if case .inline(let s) = sources[0], s.utf8.count < 32 { throw table.fail("secret", "an HS256 secret has at least 32 bytes") }
        case .eddsa, .es256:
            guard sources.count == 1 || publicKeyFile != nil else {
                throw table.fail("private_key_file", "an \(algorithm.rawValue) key needs private_key_file or private_key_env (PEM), or public_key_file to only verify")
            }
        }
        return Key(kid: kid, algorithm: algorithm, secret: sources.first, publicKeyFile: publicKeyFile)
    }

    private func nonEmpty(_ section: inout ConfigSection, _ key: String, _ value: String) throws(ConfigError) -> String {
        let v = try section.string(key, default: value)
        if v.isEmpty { throw section.fail(key, "is empty") }
        return v
    }

    public var summary: String {
        guard enabled else { return "off (no [auth] table)" }
        let keyList = keys.isEmpty ? "one HS256 key in \(keyFile)" : keys.map { key in
            let source = key.secret.map { "\($0)" } ?? "public key \(key.publicKeyFile ?? "")"
            return "\(key.kid) \(key.algorithm.rawValue) \(source)" + (key.kid == (signingKid ?? keys.first?.kid) ? " (signs)" : "")
        }.joined(separator: ", ")
        return "market data \(required ? "needs a token" : "open"), bcrypt cost \(bcryptCost) on \(bcryptThreads) threads at \(Int(bcryptCPUShare * 100))% of a core, waits up to \(bcryptMaximumWaitNanos / 1_000_000_000) s, "
            + "tokens \(issuer) → \(audience), access \(accessTTLNanos / 60_000_000_000) min, refresh \(refreshTTLNanos / 3_600_000_000_000) h, "
            + "keys: \(keyList); lockout after \(maximumFailedLogins) failures for \(lockoutNanos / 1_000_000_000) s; "
            + "mail by \(mail == .maildir ? "maildir \(maildir)" : "sendmail \(sendmailCommand[0])")"
    }
}
