import Foundation
import Ingest
import Store
import TestSupport
import Testing

/// PostgreSQL really stopped and started again (a cluster of the suite's own): the writer keeps
/// taking ticks into its spool, loses nothing and stores nothing twice.
@Suite(.offThePool, .serialized, .timeLimit(.minutes(5))) struct OutageTests {
    func options(_ spool: String) -> CopyBatchWriter.Options {
        var o = CopyBatchWriter.Options(spool: TickSpool.Options(directory: spool))
        o.maximumBatchTicks = 500
        o.flushIntervalNanos = 10_000_000
        o.retryInitialNanos = 20_000_000
        o.retryMaximumNanos = 200_000_000
        o.finishRetryNanos = 500_000_000
        return o
    }

    func feed(_ writer: CopyBatchWriter, _ ticks: ArraySlice<Tick>) {
        for start in stride(from: ticks.startIndex, to: ticks.endIndex, by: 250) {
            ticks[start..<min(start + 250, ticks.endIndex)].withUnsafeBufferPointer { writer.consume($0) }
        }
    }

    @Test func aStoppedDatabaseLosesAndDuplicatesNothing() throws {
        let pg = try PrivatePostgres()
        _ = try migrated(pg.url)
        let dir = scratchDirectory("outage")
        let log = StoreLog()
        let writer = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options(dir)) { log.append($0) }
        let ticks = storeTicks(12_000)
        feed(writer, ticks[..<3_000])
        try pg.stop()
        // The database is gone: the writer keeps taking ticks (nothing blocks) and spools them.
        feed(writer, ticks[3_000..<9_000])
        #expect(writer.spool.count >= 10, "\(log.all.suffix(5))")
        #expect(writer.spooledBatches.load(ordering: .relaxed) >= 10)
        try pg.start()
        feed(writer, ticks[9_000...])
        writer.finish()
        let db = try LibpqConnection(conninfo: pg.url)
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows == [["12000", "12000", "1", "12000"]])
        #expect(try CopyBatchWriter.checkpoints(db) == [1: 12_000])
        #expect(writer.failedAttempts.load(ordering: .relaxed) >= 1)
        #expect(writer.spool.isEmpty && writer.spool.bytes == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty, "drained segments are deleted")
    }

    @Test func aRestartDrainsTheSpoolLeftBehind() throws {
        let pg = try PrivatePostgres()
        _ = try migrated(pg.url)
        let dir = scratchDirectory("restart")
        let ticks = storeTicks(7_000, feed: 4)
        let log = StoreLog()
        let first = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options(dir)) { log.append($0) }
        feed(first, ticks[..<2_000])
        try pg.stop()
        feed(first, ticks[2_000...])
        first.finish()  // cannot reach PostgreSQL: what is left stays in the spool
        #expect(log.all.contains { $0.contains("in the spool for the next start") }, "\(log.all.suffix(5))")
        let left = first.spool.count
        #expect(left >= 10)
        #expect(first.spool.highestNumber != nil)

        try pg.start()
        let again = StoreLog()
        let second = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options(dir)) { again.append($0) }
        #expect(second.spool.recoveredHighest == [4: 7_000])
        second.finish()
        #expect(again.all.contains { $0.contains("batches") && $0.contains("earlier run") })
        let db = try LibpqConnection(conninfo: pg.url)
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows == [["7000", "7000", "1", "7000"]])
        #expect(second.spool.isEmpty)
    }

    /// A writer whose database was down when the daemon started (the schema gate closed, the
    /// server stopped): it takes every tick into its spool, holds none in memory, and once the
    /// database is back and migrated, stores everything exactly once, spool first.
    @Test func aWriterStartedWithoutItsDatabaseStoresEverythingOnceItComes() throws {
        let pg = try PrivatePostgres()
        try pg.stop()
        let dir = scratchDirectory("blind")
        let log = StoreLog()
        let gate = SchemaGate()
        let writer = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), schema: gate, options: options(dir)) { log.append($0) }
        #expect(log.all.contains { $0.contains("storing waits for the database") }, "\(log.all)")
        let ticks = storeTicks(9_000)
        feed(writer, ticks[..<6_000])
        #expect(writer.spooledBatches.load(ordering: .relaxed) >= 12, "every batch is spooled: \(log.all.suffix(3))")
        #expect(writer.storedTicks.load(ordering: .relaxed) == 0)

        try pg.start()
        let layout = try testLayout()
        try Migrator(layout: layout).run(on: LibpqConnection(conninfo: pg.url))
        gate.open(layout)
        feed(writer, ticks[6_000...])
        writer.finish()
        #expect(log.all.contains { $0.contains("PostgreSQL is back") }, "\(log.all.suffix(5))")
        let db = try LibpqConnection(conninfo: pg.url)
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows == [["9000", "9000", "1", "9000"]])
        #expect(try CopyBatchWriter.checkpoints(db) == [1: 9_000])
        #expect(writer.spool.isEmpty)

        // The next run, with its database, numbers on from where this one stopped.
        let next = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), layout: layout, options: options(dir)) { log.append($0) }
        feed(next, storeTicks(500, from: 9_001)[...])
        next.finish()
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq) FROM market_ticks").rows == [["9500", "9500"]])
    }

    /// A run that started without its database could not resume from the stored checkpoints: a
    /// feed that replays what an earlier run stored must not get those ticks stored twice.
    @Test func ticksAnEarlierRunStoredAreNotStoredAgainAfterABlindStart() throws {
        let pg = try PrivatePostgres()
        let layout = try testLayout()
        _ = try migrated(pg.url)
        let ticks = storeTicks(8_000)
        let earlier = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), layout: layout, options: options(scratchDirectory("earlier"))) { _ in }
        feed(earlier, ticks[..<5_000])
        earlier.finish()

        try pg.stop()
        let log = StoreLog()
        let writer = try CopyBatchWriter(conninfo: pg.url, symbols: SymbolUniverse(storeSymbols), schema: SchemaGate(open: layout),
                                         options: options(scratchDirectory("replayed"))) { log.append($0) }
        feed(writer, ticks[4_000...])  // the feed starts again 1,000 ticks back
        try pg.start()
        writer.finish()
        let db = try LibpqConnection(conninfo: pg.url)
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows == [["8000", "8000", "1", "8000"]])
        #expect(writer.alreadyStored.load(ordering: .relaxed) == 1_000)
        #expect(log.all.contains { $0.contains("stored by an earlier run; not storing them again") })
    }
}
