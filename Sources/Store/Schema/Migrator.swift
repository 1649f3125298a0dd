/// Brings a database's schema up to date: creates `akis_schema_migrations` if needed, then runs
/// each missing migration in its own transaction under an advisory lock (two daemons starting at
/// once do not race). Running it again does nothing.
public struct Migrator {
    public let layout: StorageLayout
    public let migrations: [Migration]

    public init(layout: StorageLayout, migrations: [Migration] = Migration.all) {
        self.layout = layout
        self.migrations = migrations
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var applied: [Int]
        public var current: Int
    }

    /// An arbitrary constant: the advisory lock key of Akis migrations ("AKIS" in ASCII).
    static let lockKey = 0x414B_4953

    @discardableResult
    public func run(on db: PostgresConnection, onApply: (Migration) -> Void = { _ in }) throws -> Report {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS akis_schema_migrations (
                version int PRIMARY KEY,
                name text NOT NULL,
                layout text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            try db.execute("BEGIN")
            do {
                try db.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
                let done = try db.execute("SELECT layout FROM akis_schema_migrations WHERE version = $1", parameters: [String(migration.version)])
                if let recorded = done.rows.first?[0] {
                    if recorded != layout.rawValue {
                        throw MigrationError.layoutChanged(recorded: recorded, now: layout.rawValue)
                    }
                    try db.execute("COMMIT")
                    continue
                }
                onApply(migration)
                try db.execute(migration.sql(layout))
                try db.execute("INSERT INTO akis_schema_migrations (version, name, layout) VALUES ($1, $2, $3)",
                               parameters: [String(migration.version), migration.name, layout.rawValue])
                try db.execute("COMMIT")
                applied.append(migration.version)
            } catch {
                _ = try? db.execute("ROLLBACK")
                if let e = error as? MigrationError { throw e }
                throw MigrationError.failed(version: migration.version, name: migration.name, reason: "\(error)")
            }
        }
        let current = try db.execute("SELECT coalesce(max(version), 0) FROM akis_schema_migrations").rows[0][0].flatMap { Int($0) } ?? 0
        return Report(applied: applied, current: current)
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case failed(version: Int, name: String, reason: String)
    case layoutChanged(recorded: String, now: String)

    public var description: String {
        switch self {
        case .failed(let v, let name, let reason): "migration \(v) (\(name)) failed and was rolled back: \(reason)"
        case .layoutChanged(let recorded, let now):
            "the schema was created for the \(recorded) layout, but this server now offers \(now); "
                + "install (or remove) TimescaleDB to match, or migrate the data by hand"
        }
    }
}
