import Foundation

/// Brings a database's schema up to date for every module of the daemon: creates
/// `akis_schema_migrations` if needed, then runs each module's missing migrations, module by
/// module in the order given and each module's by version, every one in its own transaction under
/// an advisory lock (two daemons starting at once do not race). Running it again does nothing.
///
/// Versions count per module: each row of `akis_schema_migrations` is (module, version). A
/// database made before modules existed recorded the market data's migrations by version alone;
/// the first run upgrades that table in place and files them under `market`.
public struct Migrator {
    /// One module's migrations, oldest first.
    public struct Schema: Sendable {
        public var module: String
        public var migrations: [Migration]
        public init(module: String, migrations: [Migration]) {
            self.module = module
            self.migrations = migrations
        }
    }

    public let layout: StorageLayout
    public let schemas: [Schema]

    public init(layout: StorageLayout, schemas: [Schema]) {
        precondition(Set(schemas.map(\.module)).count == schemas.count, "each module's migrations are given once")
        self.layout = layout
        self.schemas = schemas
    }

    /// The market data's migrations alone (`Migration.all`, or those given).
    public init(layout: StorageLayout, migrations: [Migration] = Migration.all) {
        self.init(layout: layout, schemas: [Schema(module: Migration.marketModule, migrations: migrations)])
    }

    /// What a run did, per module in the order given.
    public struct Report: Sendable, Equatable {
        public struct Module: Sendable, Equatable {
            public var module: String
            /// Versions this run applied.
            public var applied: [Int]
            /// The highest version recorded now (0 for none).
            public var current: Int
            public init(module: String, applied: [Int], current: Int) {
                self.module = module
                self.applied = applied
                self.current = current
            }
        }

        public var modules: [Module]
        public subscript(module: String) -> Module? { modules.first { $0.module == module } }
    }

    /// An arbitrary constant: the advisory lock key of Akis migrations ("AKIS" in ASCII).
    static let lockKey = 0x414B_4953

    /// - Parameter onApply: called with the module and the migration before each one runs.
    @discardableResult
    public func run(on db: LibpqConnection, onApply: (String, Migration) -> Void = { _, _ in }) throws -> Report {
        try prepareTable(on: db)
        var report = Report(modules: [])
        for schema in schemas {
            var applied: [Int] = []
            for migration in schema.migrations.sorted(by: { $0.version < $1.version }) {
                if try apply(migration, of: schema.module, on: db, onApply: onApply) { applied.append(migration.version) }
            }
            let current = try db.execute("SELECT coalesce(max(version), 0) FROM akis_schema_migrations WHERE module = $1",
                                         parameters: [schema.module]).rows[0][0].flatMap { Int($0) } ?? 0
            report.modules.append(.init(module: schema.module, applied: applied, current: current))
        }
        return report
    }

    /// Creates the table, or upgrades the one a release before modules made (keyed by version
    /// alone, every row the market data's).
    private func prepareTable(on db: LibpqConnection) throws {
        try db.execute("BEGIN")
        do {
            try db.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS akis_schema_migrations (
                    module text NOT NULL,
                    version int NOT NULL,
                    name text NOT NULL,
                    layout text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (module, version)
                );
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'akis_schema_migrations'::regclass AND attname = 'module') THEN
                        ALTER TABLE akis_schema_migrations ADD COLUMN module text NOT NULL DEFAULT '\(Migration.marketModule)';
                        ALTER TABLE akis_schema_migrations ALTER COLUMN module DROP DEFAULT;
                    END IF;
                    IF (SELECT array_length(conkey, 1) FROM pg_constraint
                        WHERE conrelid = 'akis_schema_migrations'::regclass AND contype = 'p') = 1 THEN
                        ALTER TABLE akis_schema_migrations DROP CONSTRAINT akis_schema_migrations_pkey;
                        ALTER TABLE akis_schema_migrations ADD PRIMARY KEY (module, version);
                    END IF;
                END $$;
                """)
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    /// Runs one migration unless it ran before; returns whether it ran. A TimescaleDB job that
    /// updates its catalog row while the migration drops that job (a continuous aggregate's
    /// refresh policy) fails the migration with "tuple concurrently updated": it was rolled
    /// back whole, so it is tried again, a few times.
    private func apply(_ migration: Migration, of module: String, on db: LibpqConnection, onApply: (String, Migration) -> Void) throws -> Bool {
        var attempt = 1
        while true {
            do {
                return try applyOnce(migration, of: module, on: db, onApply: attempt == 1 ? onApply : { _, _ in })
            } catch let error as MigrationError {
                throw error
            } catch {
                guard attempt < 5, case .statement(_, "XX000", let message)? = error as? LibpqError, message.contains("tuple concurrently") else {
                    throw MigrationError.failed(module: module, version: migration.version, name: migration.name, reason: "\(error)")
                }
                attempt += 1
                usleep(200_000)
            }
        }
    }

    private func applyOnce(_ migration: Migration, of module: String, on db: LibpqConnection, onApply: (String, Migration) -> Void) throws -> Bool {
        try db.execute("BEGIN")
        do {
            try db.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            let done = try db.execute("SELECT layout FROM akis_schema_migrations WHERE module = $1 AND version = $2",
                                      parameters: [module, String(migration.version)])
            if let recorded = done.rows.first?[0] {
                if recorded != layout.rawValue {
                    throw MigrationError.layoutChanged(recorded: recorded, now: layout.rawValue)
                }
                try db.execute("COMMIT")
                return false
            }
            onApply(module, migration)
            try db.execute(migration.sql(layout))
            try db.execute("INSERT INTO akis_schema_migrations (module, version, name, layout) VALUES ($1, $2, $3, $4)",
                           parameters: [module, String(migration.version), migration.name, layout.rawValue])
            try db.execute("COMMIT")
            return true
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case failed(module: String, version: Int, name: String, reason: String)
    case layoutChanged(recorded: String, now: String)

    public var description: String {
        switch self {
        case .failed(let module, let v, let name, let reason): "\(module) migration \(v) (\(name)) failed and was rolled back: \(reason)"
        case .layoutChanged(let recorded, let now):
            "the schema was created for the \(recorded) layout, but this server now offers \(now); "
                + "install (or remove) TimescaleDB to match, or migrate the data by hand"
        }
    }
}
