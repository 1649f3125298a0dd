import Atomics
import Events
import Foundation
import Ingest
import Store
import TestSupport
import Testing

/// The market lane against a real Kafka-protocol broker (tansu) and the real server, driven on a
/// thread of the test's as the lane's own thread would drive it.
@Suite(.timeLimit(.minutes(2))) struct KafkaMarketLaneTests {
    /// Catch-up reads scan the partition the writer is filling: none starts while the writer has
    /// a backlog, and the lane catches up once it has none.
    @Test func theCatchUpWaitsWhileTheWriterHasABacklog() async throws {
        // Everything blocking (the broker's start, libpq, the producer) off the cooperative pool,
        // which the other suites' async tests need.
        let broker = try await offThePool { try TestKafkaBroker(topics: [(KafkaMarketLane.topic, 3)]) }
        try await withScratchDatabase { url in
            let busy = ManagedAtomic<Bool>(true)
            let consumer = try await offThePool {
                let db = try LibpqConnection(conninfo: url)
                try Migrator(layout: testLayout(), schemas: [.init(module: Migration.marketModule, migrations: Migration.all),
                                                             .init(module: "events", migrations: EventsModule.migrations)]).run(on: db)
                _ = try db.execute("""
                    INSERT INTO market_ticks (time, symbol, price, volume, bid, ask, feed, seq, kind, side, receive_time)
                    SELECT now() - (100 - n) * INTERVAL '1 ms', 'AKBNK', 15750000 + n, 100, NULL, NULL, 1, n, 1, 1, now()
                    FROM generate_series(1, 100) AS n
                    """)
                _ = try db.execute("INSERT INTO ingest_checkpoints (feed, highest_seq) VALUES (1, 100)")
                let lane = ConsumerLane(name: "kafka", capacity: 1024, policy: .drop, dropWatermark: DropWatermark(feeds: [1]))
                var options = KafkaMarketLane.Options()
                options.lingerNanos = 5_000_000
                // The feed has no position yet: it starts where the store stood at start (nothing),
                // and catches up to the 100 ticks stored.
                return try KafkaMarketLane(brokers: [broker.address], lane: lane, symbols: SymbolUniverse(try SymbolTable(["AKBNK"])),
                                           feedNames: [1: "main"], conninfo: url, startingAt: [1: 0], storing: [1: 100], options: options,
                                           storeIsBehind: { busy.load(ordering: .relaxed) }, log: { _ in })
            }
            // The lane lowers the priority of the thread that drives it: one of the test's own.
            let (whileBusy, deferred) = try await onAThreadOfItsOwn {
                // At least a second and ten checks: the lane's thread runs at a low priority and
                // may get little of a busy machine.
                let started = Clock.monotonicNanos()
                while Clock.monotonicNanos() < started + 30_000_000_000,
                      Clock.monotonicNanos() < started + 1_000_000_000 || consumer.catchUpsDeferred.load(ordering: .relaxed) < 10 {
                    consumer.idle(now: Clock.monotonicNanos())
                    sleepBlocking(.microseconds(20_000))
                }
                return (consumer.caughtUp.load(ordering: .relaxed), consumer.catchUpsDeferred.load(ordering: .relaxed))
            }
            #expect(whileBusy == 0, "no catch-up read while the writer has a backlog")
            #expect(deferred >= 10, "the lane kept checking: \(deferred)")

            busy.store(false, ordering: .relaxed)
            let caughtUp = try await onAThreadOfItsOwn {
                let until = Clock.monotonicNanos() + 30_000_000_000
                while Clock.monotonicNanos() < until && consumer.catchingUp.load(ordering: .relaxed) {
                    consumer.idle(now: Clock.monotonicNanos())
                    sleepBlocking(.microseconds(20_000))
                }
                consumer.finish()
                return consumer.caughtUp.load(ordering: .relaxed)
            }
            #expect(caughtUp == 100, "every stored tick sent once the writer had no backlog")
            #expect(consumer.delivered.load(ordering: .relaxed) == 100)
            let messages = try await offThePool { try broker.read(KafkaMarketLane.topic, count: 100, seconds: 30) }
            let keys = Set(messages.map(\.key))
            #expect(Set(messages.map(\.value)).count == 100 && keys == ["AKBNK"], "\(messages.count) messages, keys \(keys)")
        }
        try await offThePool { broker.stop() }
    }
}
