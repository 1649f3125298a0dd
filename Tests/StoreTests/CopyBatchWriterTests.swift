import Atomics
import Foundation
import Ingest
import Store
import Synchronization
import TestSupport
import Testing

final class StoreLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite(.offThePool, .timeLimit(.minutes(3))) struct CopyBatchWriterTests {
    @Test func binaryCopyStoresEveryColumnExactly() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            let ticks = storeTicks(2000)
            #expect(try copyTicks(ticks, into: db) == 2000)
            let rows = try db.execute("""
                SELECT (extract(epoch FROM time) * 1000000)::bigint, symbol, price, volume, bid, ask, feed, seq, kind, side,
                       (extract(epoch FROM receive_time) * 1000000)::bigint
                FROM market_ticks ORDER BY seq
                """).rows
            #expect(rows.count == 2000)
            for (row, t) in zip(rows, ticks) {
                let expected: [String?] = [
                    String(t.exchangeTime / 1000), storeSymbols.name(of: t.symbol), String(t.price.units), String(t.quantity),
                    t.bid == .zero ? nil : String(t.bid.units), t.ask == .zero ? nil : String(t.ask.units), String(t.feed),
                    String(t.sequence), String(t.kind.rawValue), String(t.side.rawValue), String(t.receiveTime / 1000),
                ]
                #expect(row == expected)
                if row != expected { break }
            }
        }
    }

    @Test func aWriterStoresRowForRowWithCheckpoints() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            var options = writerOptions()
            options.maximumBatchTicks = 7_000
            let log = StoreLog()
            let writer = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { log.append($0) }
            // Two feeds, three days (partitions), fed in uneven spans.
            let a = storeTicks(30_000, feed: 1, step: 7_000_000_000)
            let b = storeTicks(20_000, from: 500, feed: 2, seed: 2)
            let all = a + b
            var offset = 0
            var span = 1
            while offset < all.count {
                let n = min(span, all.count - offset)
                all[offset..<(offset + n)].withUnsafeBufferPointer { writer.consume($0) }
                offset += n
                span = span * 3 % 4999 + 1
            }
            writer.finish()
            #expect(writer.storedTicks.load(ordering: .relaxed) == 50_000)
            #expect(writer.failedAttempts.load(ordering: .relaxed) == 0)
            let sums = try db.execute("SELECT count(*), sum(price), sum(volume) FROM market_ticks").rows[0]
            #expect(sums == [String(all.count), String(all.reduce(0) { $0 + $1.price.units }), String(all.reduce(0) { $0 + $1.quantity })])
            let perSymbol = try db.execute("SELECT symbol, feed, min(seq), max(seq), count(*) FROM market_ticks GROUP BY 1, 2 ORDER BY 1, 2").rows
            var expected: [[String?]] = []
            for (key, group) in Dictionary(grouping: all, by: { "\(storeSymbols.name(of: $0.symbol))|\($0.feed)" }).sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|")
                expected.append([String(parts[0]), String(parts[1]), String(group.map(\.sequence).min()!), String(group.map(\.sequence).max()!), String(group.count)])
            }
            #expect(perSymbol == expected)
            #expect(try CopyBatchWriter.checkpoints(db) == [1: 30_000, 2: 20_499])
            let batches = try db.execute("SELECT last_batch FROM ingest_writers WHERE writer = 'akis'").rows[0][0].flatMap { Int($0) } ?? 0
            #expect(batches == Int(writer.committedBatches.load(ordering: .relaxed)) && batches >= 8)
            // Three days of feed 1: a day partition each (and the empty default one), or a chunk each.
            let partitions = try db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'market_ticks'::regclass").rows[0][0]
            #expect(partitions == (try testLayout() == .plain ? "4" : "3"))
            if try testLayout() == .plain { #expect(try db.execute("SELECT count(*) FROM market_ticks_default").rows == [["0"]]) }
        }
    }

    /// pg_terminate_backend between batches and during a batch: the writer reconnects and
    /// retries; nothing is lost and nothing is stored twice.
    @Test func aKilledConnectionLosesAndDuplicatesNothing() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            var options = writerOptions()
            options.maximumBatchTicks = 2_000
            options.retryInitialNanos = 10_000_000
            options.writerID = "killed"
            let log = StoreLog()
            let writer = try CopyBatchWriter(conninfo: url + " application_name=akis_writer_test", symbols: SymbolUniverse(storeSymbols), layout: testLayout(),
                                             options: options) { log.append($0) }
            let ticks = storeTicks(20_000)
            for (i, chunk) in stride(from: 0, to: ticks.count, by: 1_000).enumerated() {
                if i % 4 == 3 {
                    try db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'akis_writer_test'")
                }
                ticks[chunk..<(chunk + 1_000)].withUnsafeBufferPointer { writer.consume($0) }
            }
            writer.finish()
            #expect(writer.failedAttempts.load(ordering: .relaxed) >= 1, "\(log.all)")
            #expect(log.all.contains { $0.contains("not stored") && $0.contains("retrying in") })
            let r = try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows[0]
            #expect(r == ["20000", "20000", "1", "20000"])
        }
    }

    @Test func aNewWriterContinuesTheBatchNumbering() throws {
        try withScratchDatabase { url in
            _ = try migrated(url)
            var options = writerOptions()
            options.maximumBatchTicks = 100
            let first = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { _ in }
            storeTicks(250).withUnsafeBufferPointer { first.consume($0) }
            first.finish()
            let second = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: options) { _ in }
            storeTicks(100, from: 251).withUnsafeBufferPointer { second.consume($0) }
            second.finish()
            let db = try LibpqConnection(conninfo: url)
            #expect(try db.execute("SELECT last_batch FROM ingest_writers").rows == [["4"]])
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["350"]])
        }
    }
}

@Suite(.offThePool, .timeLimit(.minutes(3))) struct RejectedRowTests {
    /// A row the schema refuses is reported with feed, sequence and reason; the rest of its batch
    /// is stored, and the checkpoint covers only stored rows.
    @Test func badRowsDoNotPoisonTheirBatch() throws {
        try withScratchDatabase { url in
            let db = try migrated(url)
            // Stand-in for a schema rule the pipeline does not know: GARAN is refused.
            try db.execute("ALTER TABLE market_ticks ADD CONSTRAINT no_garan CHECK (symbol <> 'GARAN')")
            let garan = storeSymbols.id(for: "GARAN")!
            var ticks = storeTicks(5_000)
            // A price the column refuses (the decoder never produces one; the store must not trust that).
            for i in [17, 2_500, 4_999] where ticks[i].symbol != garan { ticks[i].price = Price(units: -1) }
            let log = StoreLog()
            let writer = try CopyBatchWriter(conninfo: url, symbols: SymbolUniverse(storeSymbols), layout: testLayout(), options: writerOptions()) { log.append($0) }
            ticks.withUnsafeBufferPointer { writer.consume($0) }
            writer.finish()
            let refused = ticks.filter { $0.symbol == garan || $0.price.units < 0 }
            #expect(!refused.isEmpty)
            #expect(writer.rejectedRows.load(ordering: .relaxed) == UInt64(refused.count))
            #expect(writer.storedTicks.load(ordering: .relaxed) == UInt64(ticks.count - refused.count))
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [[String(ticks.count - refused.count)]])
            #expect(try db.execute("SELECT count(*) FROM market_ticks WHERE symbol = 'GARAN' OR price < 0").rows == [["0"]])
            let lines = log.all.filter { $0.contains("rejected row") }
            #expect(lines.count == refused.count)
            #expect(lines.contains { $0.contains("feed 1, sequence \(refused.first { $0.symbol == garan }!.sequence), symbol GARAN") && $0.contains("no_garan") && $0.contains("23514") })
            let negative = ticks.first { $0.price.units < 0 }!
            #expect(lines.contains { $0.contains("sequence \(negative.sequence),") && $0.contains("market_ticks_price_nonnegative") })
            let highestStored = ticks.filter { $0.symbol != garan && $0.price.units >= 0 }.map(\.sequence).max()!
            #expect(try CopyBatchWriter.checkpoints(db) == [1: highestStored])
        }
    }
}
