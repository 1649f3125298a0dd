import Ingest
import Store
import Testing

@Suite struct MigratorTests {
    @Test func migratesOnceAndAgainDoesNothing() throws {
        try withScratchDatabase { url in
            let db = try PostgresConnection(conninfo: url)
            let layout = try StorageLayout.detect(db)
            var seen: [Int] = []
            let first = try Migrator(layout: layout).run(on: db) { seen.append($0.version) }
            #expect(first.applied == Migration.all.map(\.version))
            #expect(seen == first.applied)
            let second = try Migrator(layout: layout).run(on: db)
            #expect(second.applied.isEmpty)
            #expect(second.current == Migration.all.last!.version)
            let tables = try db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1").rows.map { $0[0]! }
            for t in ["akis_schema_migrations", "ingest_checkpoints", "ingest_writers", "market_ticks", "market_candles",
                      "market_candles_5m", "market_candles_1h", "market_candles_1d"] { #expect(tables.contains(t), "\(t)") }
        }
    }

    @Test func thePlainLayoutPartitionsByDay() throws {
        try withScratchDatabase { url in
            let db = try PostgresConnection(conninfo: url)
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
            let db = try PostgresConnection(conninfo: url)
            try Migrator(layout: .plain).run(on: db)
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
            let db = try PostgresConnection(conninfo: url)
            let broken = Migration(version: 99, name: "broken", sql: { _ in "CREATE TABLE half_done (x int); SELECT no_such_function();" })
            #expect { try Migrator(layout: .plain, migrations: Migration.all + [broken]).run(on: db) } throws: {
                "\($0)".contains("migration 99 (broken) failed and was rolled back")
            }
            #expect(try db.execute("SELECT to_regclass('half_done') IS NULL").rows == [["t"]])
            #expect(try db.execute("SELECT max(version) FROM akis_schema_migrations").rows == [[String(Migration.all.last!.version)]])
        }
    }
}
