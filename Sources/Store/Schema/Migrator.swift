import Foundation

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
            if try apply(migration, on: db, onApply: onApply) { applied.append(migration.version) }
        }
        let current = try db.execute("SELECT coalesce(max(version), 0) FROM akis_schema_migrations").rows[0][0].flatMap { Int($0) } ?? 0
        return Report(applied: applied, current: current)
    }

    /// Runs one migration unless it ran before; returns whether it ran. A TimescaleDB job that
    /// updates its catalog row while the migration drops that job (a continuous aggregate's
    /// refresh policy) fails the migration with "tuple concurrently updated": it was rolled
    /// back whole, so it is tried again, a few times.
    private func apply(_ migration: Migration, on db: PostgresConnection, onApply: (Migration) -> Void) throws -> Bool {
        var attempt = 1
        while true {
            do {
                return try applyOnce(migration, on: db, onApply: attempt == 1 ? onApply : { _ in })
            } catch let error as MigrationError {
                throw error
            } catch {
                guard attempt < 5, case .statement(_, "XX000", let message)? = error as? PostgresError, message.contains("tuple concurrently") else {
                    throw MigrationError.failed(version: migration.version, name: migration.name, reason: "\(error)")
                }
                attempt += 1
                usleep(200_000)
            }
        }
    }

    private func applyOnce(_ migration: Migration, on db: PostgresConnection, onApply: (Migration) -> Void) throws -> Bool {
        try db.execute("BEGIN")
        do {
            try db.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            let done = try db.execute("SELECT layout FROM akis_schema_migrations WHERE version = $1", parameters: [String(migration.version)])
            if let recorded = done.rows.first?[0] {
                if recorded != layout.rawValue {
                    throw MigrationError.layoutChanged(recorded: recorded, now: layout.rawValue)
                }
                try db.execute("COMMIT")
                return false
            }
            onApply(migration)
            try db.execute(migration.sql(layout))
            try db.execute("INSERT INTO akis_schema_migrations (version, name, layout) VALUES ($1, $2, $3)",
                           parameters: [String(migration.version), migration.name, layout.rawValue])
            try db.execute("COMMIT")
            return true
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
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
