import AkisConfig
import Ingest
import PostgresNIO
import Store
import Synchronization

/// The daemon's database, shared by every module: its libpq connection string (for what only
/// libpq does: the binary COPY writer, the spool drain, migrations), one postgres-nio pool
/// (`client`) for the request/response side, and the gate that opens once every module's schema
/// is up to date (`schema`, which tells the storage layout).
///
/// A database that is down when the daemon starts does not stop it: the modules start without
/// (the market data spools its ticks), `/readyz` says what is missing, and `DatabaseService`
/// keeps trying; when the server answers, the migrations run and the gate opens.
public final class Database: Sendable {
    public let conninfo: String
    public let client: PostgresClient
    public let schema = SchemaGate()
    private let schemas: [Migrator.Schema]
    private let log: @Sendable (String) -> Void
    /// Why the schema is not ready yet (nil once it is, or before the first attempt).
    private let problem = Mutex<String?>(nil)
    /// The longest a request may wait for the pool: a connection, then its statement.
    private let deadline: Duration

    init(conninfo: String, pool: AkisConfiguration.DatabasePool, schemas: [Migrator.Schema], log: @escaping @Sendable (String) -> Void) throws {
        var configuration = try PostgresClient.Configuration(conninfo: conninfo)
        configuration.options.maximumConnections = pool.connections
        configuration.options.connectTimeout = .nanoseconds(pool.connectTimeoutNanos)
        configuration.options.additionalStartupParameters.append(("statement_timeout", "\(max(1, pool.statementTimeoutNanos / 1_000_000))"))
        self.conninfo = conninfo
        self.client = PostgresClient(configuration: configuration)
        self.schemas = schemas
        self.log = log
        deadline = .nanoseconds(pool.connectTimeoutNanos + pool.statementTimeoutNanos)
    }

    /// Runs `body` (queries on `client`) when the schema is ready, within the pool's connect and
    /// statement timeouts: a database that is down or gone answers `DatabaseUnavailable` at
    /// once or at the deadline, never a request left waiting.
    public func query<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        guard schema.layout != nil else { throw DatabaseUnavailable(reason: missing ?? "connecting") }
        let client = client
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body(client) }
            group.addTask {
                try await Task.sleep(for: self.deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw DatabaseUnavailable(reason: "no answer within \(self.deadline) (connect_timeout + statement_timeout)")
            }
            return value
        }
    }

    /// What `/readyz` says while the schema is not ready.
    var missing: String? {
        schema.layout != nil ? nil : (problem.withLock { $0 } ?? "connecting")
    }

    /// One attempt (blocking): connect, detect the layout, bring every module's schema up to
    /// date, open the gate. Why it failed is logged when it changes (not at every retry).
    func prepare() {
        if schema.layout != nil { return }
        do {
            let db = try LibpqConnection(conninfo: conninfo)
            let layout = try StorageLayout.detect(db)
            log("database: PostgreSQL \(db.serverVersion / 10000).\(db.serverVersion % 10000), layout \(layout.rawValue)\(layout == .plain ? " (TimescaleDB not available: native partitioning)" : "")")
            let report = try Migrator(layout: layout, schemas: schemas).run(on: db) { module, m in
                log("database: applying \(module) migration \(m.version): \(m.name)")
            }
            log("database: schema at " + report.modules.map { "\($0.module) version \($0.current)" }.joined(separator: ", "))
            problem.withLock { $0 = nil }
            schema.open(layout)
        } catch {
            let why = error is MigrationError ? "\(error)" : "unreachable (\(error)); ticks are spooled until it is back"
            let changed = problem.withLock { old in
                defer { old = why }
                return old != why
            }
            if changed { log("database: \(why). Ingest and fan-out run; the migrations run when it answers") }
        }
    }
}

/// The database cannot serve a request now; `reason` says why, without connection details.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the database is unavailable: \(reason)" }
}
