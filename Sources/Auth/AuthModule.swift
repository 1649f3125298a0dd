import AkisConfig
import Daemon
import Events
import Foundation
import Hummingbird
import ServiceLifecycle
import Store
import Synchronization

/// The auth module (docs/auth.md): users, BCrypt passwords, access and refresh tokens, email
/// verification and its mail. It offers the modules assembled after it `AccessTokens`, the one
/// verifier (the market data's routes and socket take it when `[auth] required`), and appends its
/// events through the events module's store, so it comes after that module.
public struct AuthModule: DaemonModule {
    public static let name = "auth"
    public static var migrations: [Migration] { AuthSchema.migrations }
    public static var settings: (any ModuleSettings.Type)? { AuthSettings.self }

    let routes: AuthRoutes?
    public let services: [any Service]
    private let publicURL: PublicURL

    public init(context: ModuleContext) throws {
        let settings = context.configuration.settings(AuthSettings.self)
        publicURL = PublicURL(settings.publicURL)
        guard settings.enabled else {
            routes = nil
            services = []
            return
        }
        guard let database = context.database else { throw DaemonError("[auth] needs a database ([database] url)") }
        let events = try context.shared.take(EventStore.self, for: Self.name)
        let consumers = try context.shared.take(EventConsumers.self, for: Self.name)
        let tokens: AccessTokens
        do {
            tokens = try AccessTokens.configured(settings)
        } catch let error as AuthConfigurationError {
            throw DaemonError(error.description)
        }
        context.shared.offer(tokens)
        let hasher = PasswordHasher(cost: settings.bcryptCost, threads: settings.bcryptThreads, cpuShare: settings.bcryptCPUShare,
                                    maximumWaitNanos: settings.bcryptMaximumWaitNanos)
        let publicURL = publicURL
        let service = AuthService(client: database.client, events: events, tokens: tokens, hasher: hasher, settings: settings,
                                  publicURL: { publicURL.value }, logger: context.logger)
        let counts = service.counts
        let metrics: [(String, String, @Sendable () -> UInt64)] = [
            ("auth_registrations", "Accounts registered", { counts.registered.load(ordering: .relaxed) }),
            ("auth_email_verifications", "Email addresses verified", { counts.verified.load(ordering: .relaxed) }),
            ("auth_logins", "Successful logins", { counts.loggedIn.load(ordering: .relaxed) }),
            ("auth_logins_refused", "Logins refused (any reason, locked ones included)", { counts.loginsRefused.load(ordering: .relaxed) }),
            ("auth_lockouts", "Logins refused because the account is locked", { counts.lockouts.load(ordering: .relaxed) }),
            ("auth_refreshes", "Refresh tokens rotated", { counts.refreshed.load(ordering: .relaxed) }),
            ("auth_refresh_reuse", "Used refresh tokens presented again (their login revoked)", { counts.refreshReuse.load(ordering: .relaxed) }),
        ]
        for (name, help, read) in metrics { context.metrics.counter(name, help, read: read) }
        routes = AuthRoutes(service: service, tokens: tokens, perAddress: RateLimiter(perMinute: settings.requestsPerMinutePerAddress),
                            perAccount: RateLimiter(perMinute: settings.requestsPerMinutePerAccount))
        let mailer = Mailer(transport: settings.mail == .maildir ? .maildir(settings.maildir) : .sendmail(settings.sendmailCommand), from: settings.mailFrom)
        consumers.register(MailConsumer(mailer: mailer, logger: context.logger))
        let logger = context.logger
        services = [
            hasher,
            DatabaseMaintenance(name: "auth token expiry", database: database, every: .seconds(3600)) { _, _ in
                do {
                    let removed = try await service.removeExpired()
                    if removed > 0 { logger.info("auth: removed \(removed) expired tokens") }
                } catch {
                    logger.info("auth: removing expired tokens failed (tried again in an hour): \(error)")
                }
            },
        ]
    }

    public func addRoutes(to router: Router<DaemonRequestContext>) {
        routes?.add(to: router)
    }

    public func serving(at httpAddress: String) -> [String] {
        guard routes != nil else { return [] }
        publicURL.resolve("http://\(httpAddress)")
        return ["auth: /api/auth/register, /login, /refresh, /logout, /verify-email, /resend-verification, /me; mail links to \(publicURL.value)"]
    }
}

/// Where mail links point: configured, or the HTTP address once the server listens.
final class PublicURL: Sendable {
    private let url: Mutex<String>
    private let configured: Bool

    init(_ configured: String?) {
        url = Mutex(configured.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "http://127.0.0.1:7480")
        self.configured = configured != nil
    }

    var value: String { url.withLock { $0 } }

    func resolve(_ serving: String) {
        if !configured { url.withLock { $0 = serving } }
    }
}
