import AkisConfig
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Ingest
import Logging
import NIOCore
import ServiceLifecycle
import Store
import UnixSignals

/// `akis serve`: one swift-service-lifecycle `ServiceGroup` made of the daemon's own services and
/// every module's (`DaemonModule`).
///
/// Start: the database's schema is brought up to date for every module, the modules are built
/// in order (binding what they listen on), their routes join one HTTP server, and the group
/// starts every service. Stop (SIGTERM or SIGINT; the same one again exits at once): services stop one
/// by one in reverse order. systemd hears "STOPPING=1" first, then the last module's services
/// stop, and so on back to the first module's, then the HTTP server (after the clients took their
/// last messages), then the database pool.
public struct Daemon {
    public let configuration: AkisConfiguration
    public let logger: Logger
    /// Once the HTTP server listens, the bound addresses go to this file (`serve --ready-file`).
    public let readyFile: String?

    public init(configuration: AkisConfiguration, logger: Logger, readyFile: String? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.readyFile = readyFile
    }

    /// Every migration of these modules, in assembly order (what `akis migrate` applies).
    public static func schemas(_ modules: [any DaemonModule.Type]) -> [Migrator.Schema] {
        modules.filter { !$0.migrations.isEmpty }.map { Migrator.Schema(module: $0.name, migrations: $0.migrations) }
    }

    /// The configuration sections of these modules, for `AkisConfiguration.parse`.
    public static func settings(_ modules: [any DaemonModule.Type]) -> [any ModuleSettings.Type] {
        modules.compactMap { $0.settings }
    }

    /// Runs the modules until the group stops; throws what stopped it, if it was a failure.
    public func run(_ modules: [any DaemonModule.Type]) async throws {
        let logger = logger
        let log: @Sendable (String) -> Void = { logger.info("\($0)") }
        let metrics = DaemonMetrics(), readiness = Readiness(), heartbeats = Heartbeats(), shared = SharedParts()
        shared.offer(FeedSources())
        // The assembly blocks (the first connection and the migrations; modules read checkpoints
        // and open the spool): off the cooperative pool, which the services need from the start.
        let (database, built) = try await withTaskExecutorPreference(BlockingExecutor.shared) {
            let database = try configuration.databaseURL.map {
                try Database(conninfo: $0, pool: configuration.databasePool, schemas: Self.schemas(modules), log: log)
            }
            if let database {
                database.prepare()
                readiness.add("database") { database.missing }
            }
            let context = ModuleContext(configuration: configuration, logger: logger, database: database, metrics: metrics,
                                        readiness: readiness, heartbeats: heartbeats, shared: shared)
            return (database, try modules.map { try $0.init(context: context) })
        }

        let router = Router(context: DaemonRequestContext.self)
        Self.addOperatorRoutes(to: router, metrics: metrics, readiness: readiness, localOnly: configuration.operatorRoutes == .local)
        for module in built { module.addRoutes(to: router) }

        let systemd = SystemdService(notifier: SystemdNotifier(), heartbeats: heartbeats, logger: logger)
        let host = configuration.httpHost
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let readyFile = readyFile
        let feeds = configuration.feeds.count
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: Self.webSocket)),
            configuration: .init(address: .hostname(host, port: configuration.httpPort), serverName: "akis"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let address = "\(bracketed):\(port)"
                log("http: metrics at http://\(address)/metrics, health at /healthz and /readyz")
                for module in built { module.serving(at: address).forEach(log) }
                if let readyFile {
                    let text = built.flatMap(\.listening).map { $0 + "\n" }.joined() + "http \(address)\n"
                    do { try text.write(toFile: readyFile, atomically: true, encoding: .utf8) } catch {
                        log("cannot write the ready file \(readyFile): \(error)")
                    }
                }
                systemd.ready(status: "serving \(feeds) feeds")
            },
            logger: quiet)

        var services: [any Service] = []
        if let database { services.append(DatabaseService(database: database)) }
        services.append(HTTPService(app: app, address: "\(bracketed):\(configuration.httpPort)"))
        for module in built { services += module.services }
        services.append(systemd)
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await Self.exitOnSecondSignal(log: log) }
            defer { tasks.cancelAll() }
            try await tasks.next()
        }
    }

    /// The daemon's frame limit for inbound WebSocket messages: every socket takes small commands.
    static let webSocket = WebSocketServerConfiguration(maxFrameSize: 16 * 1024)

    /// `/metrics` (Prometheus), `/healthz` (the process answers), `/readyz` (every readiness check
    /// passes; otherwise 503 and what is missing, one line each).
    static func addOperatorRoutes(to router: Router<DaemonRequestContext>, metrics: DaemonMetrics, readiness: Readiness, localOnly: Bool = false) {
        /// With `[http] operator_routes = "local"`: a 403 for a client that is not on this machine.
        @Sendable func refused(_ context: DaemonRequestContext) -> Response? {
            guard localOnly, !isLoopback(context.channel.remoteAddress) else { return nil }
            return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(
                string: "the operator routes answer loopback clients only ([http] operator_routes = \"local\")\n")))
        }
        router.get("/metrics") { _, context in
            if let refusal = refused(context) { return refusal }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        router.get("/healthz") { _, context -> Response in
            refused(context) ?? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, context -> Response in
            if let refusal = refused(context) { return refusal }
            let (ready, missing) = readiness.report()
            return ready
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: missing.map { $0 + "\n" }.joined())))
        }
    }

    /// Whether a client address is this machine's: 127.0.0.0/8, ::1, IPv4-mapped loopback, or a Unix socket.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4?: return address?.ipAddress?.hasPrefix("127.") ?? false
        case .v6?:
            let ip = address?.ipAddress?.lowercased() ?? ""
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        case .unixDomainSocket?: return true
        case nil: return false
        }
    }

    /// The first SIGTERM or SIGINT starts the drain (the group stops); the same signal again ends
    /// the process at once, without it. The other signal does not: Ctrl-C reaches a wrapper
    /// script and the daemon together, and the script's SIGTERM to the daemon that follows must
    /// not cut its drain short.
    private static func exitOnSecondSignal(log: @Sendable (String) -> Void) async {
        var seen: Set<UnixSignal> = []
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            if seen.contains(signal) {
                log("received \(signal) again: exiting without draining")
                exit(128 + signal.rawValue)
            }
            log(seen.isEmpty ? "received \(signal): draining and stopping (the same signal again stops at once)"
                             : "received \(signal): already draining (the same signal again stops at once)")
            seen.insert(signal)
        }
    }
}

/// The HTTP server as a service of the group, its failure (a port in use) said with its address.
private struct HTTPService: Service, CustomStringConvertible {
    let app: any Service
    let address: String
    var description: String { "http" }

    func run() async throws {
        do { try await app.run() } catch let error as IOError {
            throw DaemonError("cannot serve HTTP on \(address): \(String(cString: strerror(error.errnoCode)))")
        } catch {
            throw DaemonError("cannot serve HTTP on \(address): \(error)")
        }
    }
}

/// A failure said for the operator: the daemon's own, or a module's that could not be built.
public struct DaemonError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
