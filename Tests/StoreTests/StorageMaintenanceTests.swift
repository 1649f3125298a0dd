import Foundation
import Ingest
import Store
import TestSupport
import Testing

@Suite(.offThePool, .timeLimit(.minutes(3))) struct StorageMaintenanceTests {
    /// Plain layout: partitions exist ahead of today, day partitions and candles past retention go,
    /// recent ones stay, and a second run changes nothing.
    @Test func plainLayoutKeepsHistoryInsideRetention() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: .plain).run(on: db)
            try db.execute("SELECT akis_ensure_tick_partition('2020-01-02'), akis_ensure_tick_partition((now() AT TIME ZONE 'UTC')::date)")
            try db.execute("""
                INSERT INTO market_ticks (time, symbol, price, volume, feed, seq, kind, side, receive_time) VALUES
                    ('2020-01-02 10:00:00+00', 'GARAN', 1, 1, 1, 1, 1, 0, '2020-01-02 10:00:00+00'),
                    ('2019-06-01 10:00:00+00', 'GARAN', 1, 1, 1, 2, 1, 0, '2019-06-01 10:00:00+00'),  -- no partition: the default one
                    (now(), 'GARAN', 1, 1, 1, 3, 1, 0, now());
                INSERT INTO market_candles (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq) VALUES
                    ('GARAN', '2020-01-02 10:00:00+00', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                    ('GARAN', date_trunc('minute', now()), 1, 1, 1, 1, 1, 1, 1, 1, 3, 3);
                """)
            let maintenance = StorageMaintenance(retentionDays: 30)
            let report = try maintenance.run(on: db, layout: .plain)
            #expect(report == .init(droppedPartitions: 1, deletedCandles: 1, deletedDefaultTicks: 1))
            #expect(try db.execute("SELECT seq FROM market_ticks").rows == [["3"]])
            #expect(try db.execute("SELECT first_seq FROM market_candles").rows == [["3"]])
            let ahead = try db.execute("""
                SELECT count(*) FROM generate_series(0, 3) d
                WHERE to_regclass('market_ticks_p' || to_char((now() AT TIME ZONE 'UTC')::date + d, 'YYYYMMDD')) IS NOT NULL
                """).rows
            #expect(ahead == [["4"]], "today and three days ahead")
            #expect(try maintenance.run(on: db, layout: .plain) == .init())
        }
    }

    /// On the layout under test: TimescaleDB gets compression and retention policies on the three
    /// hypertables, and a second run changes no job (same ids, nothing set); a new age replaces
    /// only the policies it concerns. Plain PostgreSQL gets its partitions ahead.
    @Test func maintenanceRunsOnTheLayoutUnderTestAndASecondRunChangesNothing() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            let layout = try testLayout()
            let maintenance = StorageMaintenance(retentionDays: 400, compressAfterDays: 2)
            let first = try maintenance.run(on: db, layout: layout)
            guard layout == .timescale else {
                #expect(first.policies == 0)
                #expect(try db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'market_ticks'::regclass").rows == [["5"]],
                        "today, three days ahead, and the default partition")
                #expect(try db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'order_book_snapshots'::regclass").rows == [["5"]])
                return
            }
            func jobs() throws -> [[String?]] {
                try db.execute("""
                    SELECT proc_name, hypertable_name, job_id::text, coalesce(config->>'compress_after', config->>'drop_after')
                    FROM timescaledb_information.jobs WHERE proc_name IN ('policy_compression', 'policy_retention') ORDER BY 1, 2
                    """).rows
            }
            #expect(first.policies == 6 && first.policiesChanged == 6, "\(first)")
            let installed = try jobs()
            #expect(installed.map { [$0[0], $0[1]] } == [
                ["policy_compression", "market_candles"], ["policy_compression", "market_ticks"], ["policy_compression", "order_book_snapshots"],
                ["policy_retention", "market_candles"], ["policy_retention", "market_ticks"], ["policy_retention", "order_book_snapshots"]])
            #expect(Set(installed.map { $0[3] }) == ["2 days", "400 days"], "\(installed)")
            let second = try maintenance.run(on: db, layout: layout)
            #expect(second.policies == 6 && second.policiesChanged == 0 && !second.changedSomething, "\(second)")
            #expect(try jobs() == installed, "the same jobs, ids and settings")
            // Another retention replaces the three retention policies only.
            let longer = try StorageMaintenance(retentionDays: 500, compressAfterDays: 2).run(on: db, layout: layout)
            #expect(longer.policiesChanged == 3)
            let after = try jobs()
            #expect(after.prefix(3) == installed.prefix(3) && after.suffix(3).allSatisfy { $0[3] == "500 days" }, "\(after)")
            #expect(try db.execute("SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'").rows == [["0"]])
        }
    }

    /// A minute written days after its time is in every roll-up at once, and retention takes an
    /// old minute out of every roll-up with the minute itself (on TimescaleDB, by running the
    /// retention jobs as the scheduler would: the tests never wait for it).
    @Test func rollUpsHoldEveryStoredMinuteAndRetentionTakesThemOut() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            let layout = try testLayout()
            try db.execute("""
                INSERT INTO market_candles (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq)
                SELECT 'GARAN', date_trunc('minute', now() - d * INTERVAL '1 day'), 10, 12, 9, 11, 5, 2, 52, 10, d, d
                FROM unnest(ARRAY[40, 3, 0]) AS d
                """)
            var rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 9 && rollups.mismatches.isEmpty, "\(rollups)")
            try StorageMaintenance(retentionDays: 30).run(on: db, layout: layout)
            if layout == .timescale {
                for job in try db.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'").rows {
                    try db.execute("CALL run_job(\(job[0]!))")
                }
            }
            #expect(try db.execute("SELECT first_seq FROM market_candles ORDER BY 1").rows == [["0"], ["3"]])
            rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 6 && rollups.mismatches.isEmpty, "\(rollups)")
            for name in ["5m", "1h", "1d"] {
                #expect(try db.execute("SELECT count(*) FROM market_candles_\(name) WHERE bucket < now() - INTERVAL '30 days'").rows == [["0"]], "\(name)")
            }
        }
    }
}
