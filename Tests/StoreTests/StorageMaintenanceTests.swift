import Foundation
import Ingest
import Store
import Testing

@Suite struct StorageMaintenanceTests {
    /// Plain layout: partitions exist ahead of today, day partitions and candles past retention go,
    /// recent ones stay, and a second run changes nothing.
    @Test func plainLayoutKeepsHistoryInsideRetention() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
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
            #expect(report == .init(droppedPartitions: 1, deletedCandles: 1, deletedDefaultTicks: 1, policies: false))
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

    /// On the layout the server offers: TimescaleDB gets compression and retention policies on
    /// both hypertables (replaced, not added twice, on a second run); plain PostgreSQL gets its
    /// partitions ahead.
    @Test func maintenanceRunsOnTheDetectedLayout() throws {
        try withScratchDatabase { url in
            let db = try PostgresConnection(conninfo: url)
            let layout = try StorageLayout.detect(db)
            try Migrator(layout: layout).run(on: db)
            let maintenance = StorageMaintenance(retentionDays: 400, compressAfterDays: 2)
            #expect(try maintenance.run(on: db, layout: layout).policies == (layout == .timescale))
            #expect(try maintenance.run(on: db, layout: layout).policies == (layout == .timescale))
            if layout == .timescale {
                let jobs = try db.execute("""
                    SELECT proc_name, hypertable_name FROM timescaledb_information.jobs
                    WHERE proc_name IN ('policy_compression', 'policy_retention') ORDER BY 1, 2
                    """).rows
                #expect(jobs == [["policy_compression", "market_candles"], ["policy_compression", "market_ticks"],
                                 ["policy_compression", "order_book_snapshots"],
                                 ["policy_retention", "market_candles"], ["policy_retention", "market_ticks"],
                                 ["policy_retention", "order_book_snapshots"]])
            } else {
                #expect(try db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'market_ticks'::regclass").rows == [["5"]],
                        "today, three days ahead, and the default partition")
                #expect(try db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'order_book_snapshots'::regclass").rows == [["5"]])
            }
        }
    }
}
