import Ingest
import Store
import TestSupport
import Testing

@Suite(.offThePool, .timeLimit(.minutes(3))) struct MigratorTests {
    @Test func migratesOnceAndAgainDoesNothing() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            let layout = try testLayout()
            var seen: [Int] = []
            let first = try Migrator(layout: layout).run(on: db) { seen.append($1.version) }
            #expect(first["market"]?.applied == Migration.all.map(\.version))
            #expect(seen == first["market"]?.applied)
            let second = try Migrator(layout: layout).run(on: db)
            #expect(second["market"]?.applied == [])
            #expect(second["market"]?.current == Migration.all.last!.version)
            let tables = try db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1").rows.map { $0[0]! }
            for t in ["akis_schema_migrations", "ingest_checkpoints", "ingest_writers", "market_ticks", "market_candles",
                      "market_candles_5m", "market_candles_1h", "market_candles_1d", "order_book_snapshots", "exchange_instruments"] {
                #expect(tables.contains(t), "\(t)")
            }
        }
    }

    @Test func thePlainLayoutPartitionsByDay() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: .plain).run(on: db)
            #expect(try db.execute("SELECT relkind FROM pg_class WHERE relname = 'market_ticks'").rows == [["p"]])
            try db.execute("SELECT akis_ensure_tick_partition('2024-09-24')")
            try db.execute("SELECT akis_ensure_tick_partition('2024-09-24')")  // idempotent
            try db.execute("SELECT akis_ensure_tick_partition('2024-09-25')")
            let bounds = try db.execute("""
                SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'market_ticks'::regclass ORDER BY 1
                """).rows
            #expect(bounds.map { $0[0]! } == ["market_ticks_default", "market_ticks_p20240924", "market_ticks_p20240925"])
            #expect(bounds[1][1]!.contains("2024-09-24 00:00:00+00") && bounds[1][1]!.contains("2024-09-25 00:00:00+00"), "\(bounds)")
            // A row for the 24th lands in its partition; retention drops whole days before the cutoff.
            try db.execute("""
                INSERT INTO market_ticks VALUES ('2024-09-24 12:00:00+00', 'AKBNK', 1, 1, NULL, NULL, 1, 1, 1, 0, '2024-09-24 12:00:00+00')
                """)
            #expect(try db.execute("SELECT count(*) FROM market_ticks_p20240924").rows == [["1"]])
            #expect(try db.execute("SELECT akis_drop_tick_partitions_before('2024-09-25')").rows == [["1"]])
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["0"]])
            #expect(try db.execute("SELECT to_regclass('market_ticks_p20240925') IS NOT NULL").rows == [["t"]])
        }
    }

    @Test func theSchemaRejectsMalformedRows() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: testLayout()).run(on: db)
            for (values, constraint) in [
                ("'akbnk', 1, 1", "market_ticks_symbol_format"),
                ("'AKBNK''; DROP TABLE market_ticks; --', 1, 1", "market_ticks_symbol_format"),
                ("'AKBNK', -1, 1", "market_ticks_price_nonnegative"),
                ("'AKBNK', 1, -5", "market_ticks_volume_nonnegative"),
            ] {
                #expect { try db.execute("INSERT INTO market_ticks VALUES (now(), \(values), NULL, NULL, 1, 1, 1, 0, now())") } throws: {
                    "\($0)".contains(constraint) && "\($0)".contains("23514")
                }
            }
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["0"]])
        }
    }

    @Test func aFailingMigrationRollsBackCompletely() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            let broken = Migration(version: 99, name: "broken", sql: { _ in "CREATE TABLE half_done (x int); SELECT no_such_function();" })
            #expect { try Migrator(layout: testLayout(), migrations: Migration.all + [broken]).run(on: db) } throws: {
                "\($0)".contains("market migration 99 (broken) failed and was rolled back")
            }
            #expect(try db.execute("SELECT to_regclass('half_done') IS NULL").rows == [["t"]])
            #expect(try db.execute("SELECT max(version) FROM akis_schema_migrations").rows == [[String(Migration.all.last!.version)]])
        }
    }

    /// Modules' migrations are versioned and recorded each on their own, applied module by
    /// module in the order given; one module's version 1 is not another's.
    @Test func eachModuleHasItsOwnVersions() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            let layout = try testLayout()
            var order: [String] = []
            let events = Migrator.Schema(module: "events", migrations: [
                Migration(version: 2, name: "event index", sql: { _ in "CREATE INDEX event_log_time ON event_log (time)" }),
                Migration(version: 1, name: "event log", sql: { _ in "CREATE TABLE event_log (time timestamptz NOT NULL, ticks bigint)" }),
            ])
            let market = Migrator.Schema(module: "market", migrations: Migration.all)
            let report = try Migrator(layout: layout, schemas: [market, events]).run(on: db) { order.append("\($0) \($1.version)") }
            #expect(order == Migration.all.map { "market \($0.version)" } + ["events 1", "events 2"])
            #expect(report["events"] == .init(module: "events", applied: [1, 2], current: 2))
            #expect(report["market"]?.current == Migration.all.last!.version)
            let again = try Migrator(layout: layout, schemas: [market, events]).run(on: db)
            #expect(again.modules.allSatisfy { $0.applied.isEmpty }, "\(again)")
            #expect(try db.execute("SELECT module, count(*) FROM akis_schema_migrations GROUP BY 1 ORDER BY 1").rows
                    == [["events", "2"], ["market", String(Migration.all.count)]])
        }
    }

    /// A database made by the release before modules (its migrations table keyed by version
    /// alone) is upgraded in place: its versions are filed under the market module, nothing runs
    /// again, the data stays, and a new module's migrations run beside them.
    @Test func aDatabaseOfThePreviousReleaseUpgradesInPlace() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            let layout = try testLayout()
            // What release d10430e's Migrator left: its table, its rows, its schema.
            try db.execute("""
                CREATE TABLE IF NOT EXISTS akis_schema_migrations (
                    version int PRIMARY KEY,
                    name text NOT NULL,
                    layout text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            for m in Migration.all {
                try db.execute("BEGIN")
                try db.execute(m.sql(layout))
                try db.execute("INSERT INTO akis_schema_migrations (version, name, layout) VALUES ($1, $2, $3)",
                               parameters: [String(m.version), m.name, layout.rawValue])
                try db.execute("COMMIT")
            }
            if layout == .plain { try db.execute("SELECT akis_ensure_tick_partition('2024-09-24')") }
            try db.execute("""
                INSERT INTO market_ticks VALUES ('2024-09-24 12:00:00+00', 'AKBNK', 1, 1, NULL, NULL, 1, 7, 1, 0, '2024-09-24 12:00:00+00');
                INSERT INTO ingest_checkpoints (feed, highest_seq) VALUES (1, 7);
                """)

            let events = Migrator.Schema(module: "events", migrations: [
                Migration(version: 1, name: "event log", sql: { _ in "CREATE TABLE event_log (time timestamptz NOT NULL)" }),
            ])
            var ran: [String] = []
            let report = try Migrator(layout: layout, schemas: [.init(module: "market", migrations: Migration.all), events])
                .run(on: db) { ran.append("\($0) \($1.version)") }
            #expect(ran == ["events 1"], "the market's migrations are not run again")
            #expect(report["market"] == .init(module: "market", applied: [], current: Migration.all.last!.version))
            #expect(try db.execute("SELECT module, version FROM akis_schema_migrations ORDER BY 1, 2").rows
                    == [["events", "1"]] + Migration.all.map { ["market", String($0.version)] })
            #expect(try db.execute("""
                SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'akis_schema_migrations'::regclass AND contype = 'p'
                """).rows == [["PRIMARY KEY (module, version)"]])
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["1"]])
            #expect(try CopyBatchWriter.checkpoints(db) == [1: 7])
            // And the upgraded table works as a new one does.
            #expect(try Migrator(layout: layout).run(on: db)["market"]?.applied == [])
        }
    }

    /// Each table has the schema's own index and no other: TimescaleDB's default time index on
    /// a hypertable costs ~30% of COPY speed.
    @Test func eachTableHasOnlyTheSchemasIndex() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            #expect(try Self.indexes(db) == ["market_candles|market_candles_pkey", "market_ticks|market_ticks_symbol_time",
                                             "order_book_snapshots|order_book_snapshots_pkey"])
        }
    }

    /// A database at version 4 (TimescaleDB's extra indexes, continuous aggregates with refresh
    /// policies) is brought up to date: the extra indexes go, the longer candles become views
    /// over every stored minute, including minutes the old aggregates never refreshed.
    @Test func anUpgradedDatabaseLosesTheExtraIndexesAndKeepsEveryMinuteInTheLongerCandles() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            let layout = try testLayout()
            try Migrator(layout: layout, migrations: Migration.all.filter { $0.version <= 4 }).run(on: db)
            try db.execute(Self.leftByVersion4(layout))
            if layout == .timescale {
                #expect(try Self.indexes(db).contains("market_ticks|market_ticks_time_idx"))
                #expect(try db.execute("SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'").rows == [["3"]])
            }
            // A minute of 2024, far outside any refresh window.
            try db.execute("""
                INSERT INTO market_candles (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq)
                VALUES ('GARAN', '2024-09-24 10:03:00+00', 10, 12, 9, 11, 5, 2, 52, 10, 1, 2),
                       ('GARAN', '2024-09-24 10:04:00+00', 11, 13, 11, 12, 1, 1, 12, 12, 3, 3)
                """)
            let report = try Migrator(layout: layout).run(on: db)
            #expect(report["market"]?.applied == Migration.all.map(\.version).filter { $0 >= 5 })
            #expect(try Self.indexes(db) == ["market_candles|market_candles_pkey", "market_ticks|market_ticks_symbol_time",
                                             "order_book_snapshots|order_book_snapshots_pkey"])
            #expect(try db.execute("SELECT bucket::text, open, high, low, close, volume, trade_count, vwap FROM market_candles_5m").rows
                    == [["2024-09-24 10:00:00+00", "10", "13", "9", "12", "6", "3", "11"]])
            let rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 3 && rollups.mismatches.isEmpty, "\(rollups)")
            if layout == .timescale {
                #expect(try db.execute("SELECT count(*) FROM timescaledb_information.continuous_aggregates").rows == [["0"]])
                #expect(try db.execute("SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'").rows == [["0"]])
            }
        }
    }

    /// What the text of migrations 1, 2 and 4 used to leave that it no longer does: on TimescaleDB
    /// a time index on each hypertable, and continuous aggregates with refresh policies; on plain
    /// PostgreSQL views of the minutes.
    static func leftByVersion4(_ layout: StorageLayout) -> String {
        let views = [("5m", "time_bucket(INTERVAL '5 minutes', c.bucket)", "1 hour", "5 minutes"),
                     ("1h", "time_bucket(INTERVAL '1 hour', c.bucket)", "1 day", "1 hour"),
                     ("1d", "time_bucket(INTERVAL '1 day', c.bucket, 'Europe/Istanbul')", "7 days", "1 day")]
        guard layout == .timescale else {
            return views.map { "CREATE VIEW market_candles_\($0.0) AS SELECT symbol, bucket FROM market_candles;\n" }.joined()
        }
        return """
            CREATE INDEX market_ticks_time_idx ON market_ticks (time DESC);
            CREATE INDEX market_candles_bucket_idx ON market_candles (bucket DESC);
            CREATE INDEX order_book_snapshots_time_idx ON order_book_snapshots (time DESC);

            """ + views.map { name, bucket, offset, every in
            """
            CREATE MATERIALIZED VIEW market_candles_\(name) WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT symbol, \(bucket) AS bucket, first(open, c.bucket) AS open, max(high) AS high, min(low) AS low, last(close, c.bucket) AS close,
                   sum(volume)::bigint AS volume, sum(trade_count)::bigint AS trade_count, sum(turnover) AS turnover,
                   round(sum(turnover) / sum(volume))::bigint AS vwap, first(first_seq, c.bucket) AS first_seq, last(last_seq, c.bucket) AS last_seq
            FROM market_candles c GROUP BY symbol, \(bucket) WITH NO DATA;
            SELECT add_continuous_aggregate_policy('market_candles_\(name)', start_offset => INTERVAL '\(offset)' * 3,
                                                   end_offset => INTERVAL '\(every)', schedule_interval => INTERVAL '\(every)');

            """
        }.joined()
    }

    /// "table|index" for the indexes of the three time-series tables.
    static func indexes(_ db: LibpqConnection) throws -> [String] {
        try db.execute("""
            SELECT tablename || '|' || indexname FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename IN ('market_ticks', 'market_candles', 'order_book_snapshots') ORDER BY 1
            """).rows.map { $0[0]! }
    }
}
