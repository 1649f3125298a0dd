import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// The event store against the real server: appends commit with the caller's change or not at
/// all, chains stay intact under concurrent writers, and `AuditVerification` finds tampering.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct EventStoreTests {
    static let logger = Logger(label: "events-test")

    func migrate(_ url: String) throws {
        try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations)])
            .run(on: LibpqConnection(conninfo: url))
    }

    func order(_ n: Int, user: String = "u-1") -> Event {
        Event(.orderCreated, key: user, data: [("orderId", .string("o-\(n)")), ("userId", .string(user)), ("quantity", .integer(Int64(n)))])
    }

    @Test func anEventCommitsWithItsChangeOrNotAtAll() async throws {
        try await withScratchDatabase { url in
            try migrate(url)
            let db = try LibpqConnection(conninfo: url)
            try db.execute("CREATE TABLE orders (id text PRIMARY KEY)")
            let store = EventStore()
            try await withPool(url) { client in
                try await client.withTransaction(logger: Self.logger) { c in
                    try await c.query("INSERT INTO orders VALUES ('o-1')", logger: Self.logger)
                    try await store.append([order(1)], on: c, logger: Self.logger)
                }
                struct Refused: Error {}
                await #expect {
                    try await client.withTransaction(logger: Self.logger) { c in
                        try await c.query("INSERT INTO orders VALUES ('o-2')", logger: Self.logger)
                        try await store.append([order(2)], on: c, logger: Self.logger)
                        throw Refused()
                    }
                } throws: { ($0 as? PostgresTransactionError)?.closureError is Refused }
                let reports = try await AuditVerification.run(client: client, logger: Self.logger)
                #expect(reports.first { $0.topic == .trading } == .init(topic: .trading, checked: 1, after: 0, head: 1))
            }
            #expect(try db.execute("SELECT count(*) FROM orders").rows == [["1"]])
            #expect(try db.execute("SELECT seq, event_type, partition_key, convert_from(envelope, 'UTF8')::jsonb->'data'->>'orderId' FROM event_store").rows
                    == [["1", "OrderCreated", "u-1", "o-1"]])
            #expect(try db.execute("SELECT head_seq FROM event_chain WHERE topic = 'trading-events'").rows == [["1"]], "the head moved back with the rollback")
        }
    }

    /// Writers in parallel, each appending a few events per transaction across two topics: every
    /// topic's sequence has no gap and its chain verifies.
    @Test func concurrentWritersKeepEachChainWhole() async throws {
        try await withScratchDatabase { url in
            try migrate(url)
            let store = EventStore()
            try await withPool(url) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<6 {
                        group.addTask {
                            for t in 0..<25 {
                                try await client.withTransaction(logger: Self.logger) { c in
                                    let user = "u-\(w)"
                                    try await store.append([order(t, user: user), order(t + 1000, user: user),
                                                            Event(.userLoggedIn, key: user, data: [("userId", .string(user))])],
                                                           on: c, logger: Self.logger)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let reports = try await AuditVerification.run(client: client, logger: Self.logger)
                #expect(reports.first { $0.topic == .trading }?.checked == 300)
                #expect(reports.first { $0.topic == .audit }?.checked == 150)
            }
            let db = try LibpqConnection(conninfo: url)
            #expect(try db.execute("SELECT topic, min(seq), max(seq), count(*) FROM event_store GROUP BY 1 ORDER BY 1").rows
                    == [["audit-events", "1", "150", "150"], ["trading-events", "1", "300", "300"]])
            // Each writer's events keep their order in their topic (per key order).
            let seqs = try db.execute("SELECT seq FROM event_store WHERE partition_key = 'u-3' AND topic = 'trading-events' ORDER BY seq").rows
            let orders = try db.execute("""
                SELECT (convert_from(envelope, 'UTF8')::jsonb->'data'->>'quantity')::int FROM event_store
                WHERE partition_key = 'u-3' AND topic = 'trading-events' ORDER BY seq
                """).rows.map { Int($0[0]!)! }
            #expect(seqs.count == 50 && orders == (0..<25).flatMap { [$0, $0 + 1000] })
        }
    }

    /// Tampering with a stored event, removing one, or cutting the tail is found at the event;
    /// and the table refuses an UPDATE unless its trigger is taken off first.
    @Test func tamperingIsFoundByTheVerifier() async throws {
        try await withScratchDatabase { url in
            try migrate(url)
            let store = EventStore()
            let db = try LibpqConnection(conninfo: url)
            try await withPool(url) { client in
                for n in 1...40 {
                    _ = try await client.withTransaction(logger: Self.logger) { c in try await store.append([order(n)], on: c, logger: Self.logger) }
                }
                #expect(try await AuditVerification.run(client: client, topics: [.trading], logger: Self.logger).first?.checked == 40)

                // The tail cut: the chain's head still says 40.
                try db.execute("DELETE FROM event_store WHERE seq = 40")
                await #expect { try await AuditVerification.run(client: client, topics: [.trading], logger: Self.logger) } throws: {
                    ($0 as? AuditVerification.TopicBrokenLink)?.link
                        == AuditChain.BrokenLink(sequence: 40, reason: "events 40...40 are missing (the chain's head is at 40)")
                }
                try db.execute("UPDATE event_chain SET head_seq = 39, head_hash = (SELECT hash FROM event_store WHERE topic = 'trading-events' AND seq = 39) WHERE topic = 'trading-events'")

                #expect { try db.execute("UPDATE event_store SET event_type = 'x' WHERE seq = 7") } throws: { "\($0)".contains("append-only") }
                try db.execute("ALTER TABLE event_store DISABLE TRIGGER event_store_append_only")
                try db.execute("UPDATE event_store SET envelope = convert_to(replace(convert_from(envelope, 'UTF8'), '\"o-17\"', '\"o-71\"'), 'UTF8') WHERE seq = 17")
                await #expect { try await AuditVerification.run(client: client, topics: [.trading], logger: Self.logger) } throws: {
                    guard let broken = $0 as? AuditVerification.TopicBrokenLink else { return false }
                    return broken.topic == .trading && broken.link.sequence == 17
                }
                try db.execute("DELETE FROM event_store WHERE seq = 17")
                await #expect { try await AuditVerification.run(client: client, topics: [.trading], logger: Self.logger) } throws: {
                    ($0 as? AuditVerification.TopicBrokenLink)?.link == AuditChain.BrokenLink(sequence: 18, reason: "events 17...17 are missing")
                }
            }
        }
    }
}

/// Retention takes each topic's oldest events as a prefix of its chain and keeps the last one's
/// hash as the checkpoint: the rest still verifies, and tampering is still found.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct EventRetentionTests {
    static let logger = Logger(label: "retention-test")

    @Test func retentionKeepsTheChainVerifiable() async throws {
        try await withScratchDatabase { url in
            try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations)])
                .run(on: LibpqConnection(conninfo: url))
            let store = EventStore()
            try await withPool(url) { client in
                for n in 1...30 {
                    _ = try await client.withTransaction(logger: Self.logger) { c in
                        try await store.append([Event(.marketDataReceived, key: "GARAN", data: [("n", .integer(Int64(n)))]),
                                                Event(.orderCreated, key: "u-1", data: [("n", .integer(Int64(n)))])], on: c, logger: Self.logger)
                    }
                }
                // The first 20 of each topic were appended two days ago.
                let db = try LibpqConnection(conninfo: url)
                try db.execute("ALTER TABLE event_store DISABLE TRIGGER event_store_append_only")
                try db.execute("UPDATE event_store SET appended_at = now() - INTERVAL '2 days' WHERE seq <= 20")
                try db.execute("ALTER TABLE event_store ENABLE TRIGGER event_store_append_only")

                let removed = try await EventRetention.run(client: client, chunk: 7, logger: Self.logger)
                #expect(removed[.market] == 20, "market-events are kept a day")
                #expect(removed[.trading] == 0, "trading-events are kept seven years")
                let reports = try await AuditVerification.run(client: client, logger: Self.logger)
                #expect(reports.first { $0.topic == .market } == .init(topic: .market, checked: 10, after: 20, head: 30))
                #expect(reports.first { $0.topic == .trading }?.checked == 30)
                #expect(try await EventRetention.run(client: client, logger: Self.logger).values.allSatisfy { $0 == 0 }, "nothing more to remove")

                try db.execute("DELETE FROM event_store WHERE topic = 'market-events' AND seq = 21")
                await #expect { try await AuditVerification.run(client: client, topics: [.market], logger: Self.logger) } throws: {
                    ($0 as? AuditVerification.TopicBrokenLink)?.link.sequence == 22
                }
            }
        }
    }
}
