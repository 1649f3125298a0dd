import AkisConfig
import PostgresNIO
import Store

/// The daemon's database, shared by every module: its libpq connection string (for what only
/// libpq does: the binary COPY writer, the spool drain, migrations), its storage layout, and one
/// postgres-nio pool (`client`) for the request/response side. The pool runs as a service of the
/// group; queries wait for it to start.
public final class Database: Sendable {
    public let conninfo: String
    public let layout: StorageLayout
    public let client: PostgresClient

    /// Connects, detects the layout and brings every module's schema up to date, then makes the pool.
    static func open(conninfo: String, pool: AkisConfiguration.DatabasePool, schemas: [Migrator.Schema],
                     log: @escaping @Sendable (String) -> Void) throws -> Database {
        let db = try PostgresConnection(conninfo: conninfo)
        let layout = try StorageLayout.detect(db)
        log("database: PostgreSQL \(db.serverVersion / 10000).\(db.serverVersion % 10000), layout \(layout.rawValue)\(layout == .plain ? " (TimescaleDB not available: native partitioning)" : "")")
        let report = try Migrator(layout: layout, schemas: schemas).run(on: db) { module, m in
            log("database: applying \(module) migration \(m.version): \(m.name)")
        }
        log("database: schema at " + report.modules.map { "\($0.module) version \($0.current)" }.joined(separator: ", "))
        var configuration = try PostgresClient.Configuration(conninfo: conninfo)
        configuration.options.maximumConnections = pool.connections
        configuration.options.connectTimeout = .nanoseconds(pool.connectTimeoutNanos)
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(max(1, pool.statementTimeoutNanos / 1_000_000))"))
        return Database(conninfo: conninfo, layout: layout, client: PostgresClient(configuration: configuration))
    }

    private init(conninfo: String, layout: StorageLayout, client: PostgresClient) {
        self.conninfo = conninfo
        self.layout = layout
        self.client = client
    }
}
