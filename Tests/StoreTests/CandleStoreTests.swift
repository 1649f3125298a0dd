import Aggregator
import Foundation
import Ingest
import RingBuffer
import Store
import TestSupport
import Testing

/// The aggregator and the store writer together, as `serve` wires them (lane first, then the
/// stage, on one thread here): every stored candle must equal the SQL aggregation of the stored
/// trades of its minute, whatever way it got there.
@Suite(.offThePool, .timeLimit(.minutes(5))) struct CandleStoreTests {
    /// 2024-09-24T10:00:00Z.
    static let ten: Int64 = 1_727_172_000_000_000_000
    static let second = UTCTime.nanosPerSecond

    final class Flow {
        let lane = ConsumerLane(name: "store", capacity: 1 << 16, policy: .block)
        let outlet: CandleOutlet
        let snapshots = SnapshotOutlet()
        let stage: AggregationStage
        let writer: CopyBatchWriter
        var sequence: UInt64

        /// - Parameter memoryBatches: 0 sends every batch through the spool.
        init(url: String, firstSequence: UInt64, memoryBatches: Int, log: StoreLog,
             tune: (inout CopyBatchWriter.Options) -> Void = { _ in }) throws {
            outlet = CandleOutlet(lane: lane)
            stage = AggregationStage(symbolCount: storeSymbols.count, outlets: [outlet], snapshots: snapshots) { _ in }
            var options = writerOptions("candles")
            options.maximumBatchTicks = 40
            options.memoryBatches = memoryBatches
            tune(&options)
            writer = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options, candles: outlet, snapshots: snapshots) { log.append($0) }
            sequence = firstSequence
        }

        /// A trade of symbol `s` at `time`; the wall clock follows the exchange time.
        func trade(_ s: UInt32, at time: Int64, price: Int64) {
            let t = Tick(symbol: SymbolID(s), kind: .trade, price: Price(units: price), quantity: Int64(1 + sequence % 7),
                         exchangeTime: time, receiveTime: time, sequence: sequence, feed: 1)
            sequence += 1
            [t].withUnsafeBufferPointer {
                _ = lane.offer($0)
                stage.process($0, now: time)
            }
            _ = lane.ring.drain(maximum: .max) { writer.consume($0) }
        }

        func finish() {
            stage.finish()
            _ = lane.ring.drain(maximum: .max) { writer.consume($0) }
            writer.finish()
        }
    }

    @Test func storedCandlesEqualTheStoredTradesAfterLateTradesBadRowsAndARestart() throws {
        try withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: testLayout()).run(on: db)
            let log = StoreLog()
            let ten = Self.ten, second = Self.second
            let flow = try Flow(url: url, firstSequence: 1, memoryBatches: 1_000, log: log)
            // Five minutes of two symbols, a trade every 2 s each.
            for i in 0..<150 {
                let time = ten + Int64(i) * 2 * second
                flow.trade(0, at: time, price: 10_000_000 + Int64(i % 13) * 10_000)
                flow.trade(1, at: time + 500_000_000, price: 20_000_000 - Int64(i % 11) * 10_000)
                if i == 130 {
                    // 10:01:30, far too late to correct in memory: the store rebuilds that minute.
                    flow.trade(0, at: ten + 90 * second, price: 99_000_000)
                    // A row the schema refuses, in the current minute: its candle is rebuilt from what was stored.
                    flow.trade(1, at: time + 600_000_000, price: -1)
                }
            }
            flow.finish()
            #expect(flow.writer.rejectedRows.load(ordering: .relaxed) == 1 && flow.writer.spooledBatches.load(ordering: .relaxed) == 0, "\(log.all)")
            #expect(flow.writer.candlesUpserted.load(ordering: .relaxed) > 0, "most candles go in as aggregated: \(log.all)")
            #expect(flow.writer.candlesRebuilt.load(ordering: .relaxed) >= 3, "first candles, the late trade's and the bad row's minutes")
            var (candles, mismatches) = try candlesAgainstTrades(db)
            #expect(candles == 10 && mismatches.isEmpty, "\(candles) candles; \(mismatches)")
            var rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 2 + 2 + 2 && rollups.mismatches.isEmpty, "the late trade's minute is in every roll-up: \(rollups)")
            #expect(try db.execute("SELECT high FROM market_candles WHERE symbol = $1 AND bucket = '2024-09-24T10:01:00Z'",
                                   parameters: [storeSymbols.name(of: SymbolID(0))]).rows == [["99000000"]], "the late trade is in")
            #expect(try db.execute("SELECT DISTINCT session_phase FROM market_candles").rows == [["continuous"]], "13:00 Istanbul")

            // Top of book every 10 s of market time, for the symbols that changed: the last price
            // and the day's totals when the market's time reached the snapshot's (trades only
            // here: no bid or ask).
            #expect(flow.writer.snapshotsStored.load(ordering: .relaxed) > 0 && flow.writer.snapshotsLost.load(ordering: .relaxed) == 0)
            let snapshotRows = try db.execute("SELECT count(*), count(DISTINCT time), min(time)::text, max(time)::text FROM order_book_snapshots").rows[0]
            #expect(snapshotRows == ["58", "29", "2024-09-24 10:00:10+00", "2024-09-24 10:04:50+00"],
                    "two symbols × 29 times: the first trade (10:00:00) starts the series, the market never reaches 10:05:00")
            // Each row of the first symbol (the second has a row the schema refused, which the
            // aggregator counted) equals the stored trades that had arrived (sequence numbers
            // follow arrival here) with a time before the row's when the market first passed it:
            // the late 10:01:30 trade is not in the 10:02:00 to 10:04:10 rows.
            let wrong = try snapshotsAgainstTicks(db, symbol: storeSymbols.name(of: SymbolID(0)))
            #expect(wrong.isEmpty, "\(wrong)")
            #expect(try db.execute("SELECT count(*) FROM order_book_snapshots WHERE bid IS NOT NULL OR ask IS NOT NULL").rows == [["0"]])

            // A restart in the middle of a minute: the new run's first candles lack the trades of
            // before; they are rebuilt, and the start rebuilds the latest minutes too. This run's
            // batches all go through the spool, which keeps candle keys only: rebuilt on the way out.
            let again = try Flow(url: url, firstSequence: flow.sequence, memoryBatches: 0, log: log)
            for i in 150..<200 {
                again.trade(0, at: ten + Int64(i) * 2 * second, price: 10_500_000)
            }
            again.finish()
            #expect(again.writer.spooledBatches.load(ordering: .relaxed) > 0 && again.writer.candlesUpserted.load(ordering: .relaxed) == 0)
            #expect(again.writer.snapshotsLost.load(ordering: .relaxed) == 0 && again.writer.snapshotsStored.load(ordering: .relaxed) == 9,
                    "snapshots go through the spool with their batches: 10:05:10 to 10:06:30")
            #expect(try db.execute("SELECT count(*) FROM order_book_snapshots WHERE time > '2024-09-24 10:05:00+00'").rows == [["9"]])
            #expect(log.all.contains { $0.contains("store: rebuilt ") && $0.contains("candles from 2024-09-24T09:54:00") }, "\(log.all)")
            (candles, mismatches) = try candlesAgainstTrades(db)
            #expect(candles == 12 && mismatches.isEmpty, "\(candles) candles; \(mismatches)")
            rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 3 + 2 + 2 && rollups.mismatches.isEmpty, "spooled and rebuilt minutes too: \(rollups)")
        }
    }

    /// PostgreSQL really stopped for a while (a cluster of the test's own): the batches of the
    /// outage go through the spool with their candle keys and snapshots, and once it is back every
    /// candle, every roll-up and every snapshot is stored as if nothing had happened.
    @Test func anOutageLosesNoCandleRollUpOrSnapshot() throws {
        let pg = try PrivatePostgres()
        _ = try migrated(pg.url)
        let log = StoreLog()
        let flow = try Flow(url: pg.url, firstSequence: 1, memoryBatches: 2, log: log) {
            $0.retryInitialNanos = 20_000_000
            $0.retryMaximumNanos = 200_000_000
        }
        // Five minutes of two symbols, a trade every 2 s each; the database is away for the middle two.
        func minutes(_ range: Range<Int>) {
            for i in range {
                let time = Self.ten + Int64(i) * 2 * Self.second
                flow.trade(0, at: time, price: 10_000_000 + Int64(i % 13) * 10_000)
                flow.trade(1, at: time + 500_000_000, price: 20_000_000 - Int64(i % 11) * 10_000)
            }
        }
        minutes(0..<45)
        try pg.stop()
        minutes(45..<105)
        #expect(flow.writer.spooledBatches.load(ordering: .relaxed) > 0, "\(log.all.suffix(5))")
        try pg.start()
        minutes(105..<150)
        flow.finish()
        let db = try LibpqConnection(conninfo: pg.url)
        #expect(flow.writer.failedAttempts.load(ordering: .relaxed) >= 1 && flow.writer.spool.isEmpty)
        #expect(try db.execute("SELECT count(*), count(DISTINCT seq) FROM market_ticks").rows == [["300", "300"]])
        let (candles, mismatches) = try candlesAgainstTrades(db)
        #expect(candles == 10 && mismatches.isEmpty, "\(candles) candles; \(mismatches)")
        let rollups = try rollupsAgainstMinutes(db)
        #expect(rollups.candles == 2 + 2 + 2 && rollups.mismatches.isEmpty, "\(rollups)")
        #expect(flow.writer.snapshotsLost.load(ordering: .relaxed) == 0)
        #expect(try db.execute("SELECT count(*), count(DISTINCT time) FROM order_book_snapshots").rows == [["58", "29"]],
                "every snapshot of the five minutes, the outage's too")
    }
}
