import Aggregator
import Atomics
import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// TradingSessionChanged from the calendar, against the real server, with a clock the test sets.
@Suite(.offThePool, .timeLimit(.minutes(2))) struct TradingSessionWatcherTests {
    static let logger = Logger(label: "session-test")

    func changes(_ url: String) throws -> [[String?]] {
        try LibpqConnection(conninfo: url).execute("""
            SELECT e #>> '{data,phase}', e #>> '{data,previousPhase}', e #>> '{data,tradingDay}', partition_key
            FROM (SELECT convert_from(envelope, 'UTF8')::jsonb AS e, partition_key, seq FROM event_store
                  WHERE event_type = 'TradingSessionChanged') s ORDER BY seq
            """).rows
    }

    @Test func eachPhaseChangeIsRecordedOnceAcrossRestarts() async throws {
        // Monday 2026-11-30, 09:59:58 in Istanbul: the opening auction.
        let monday = try #require(Array("2026-11-30T06:59:58Z".utf8).withUnsafeBytes { UTCTime.parseISO8601($0) })
        let clock = ManagedAtomic<Int64>(monday)
        try await withScratchDatabase { url in
            try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations)])
                .run(on: LibpqConnection(conninfo: url))
            try await withPool(url) { client in
                func watcher() -> TradingSessionWatcher {
                    TradingSessionWatcher(client: client, calendar: SessionCalendar(), store: EventStore(), logger: Self.logger,
                                          every: .milliseconds(20), now: { clock.load(ordering: .relaxed) })
                }
                let one = watcher()
                let first = Task { try await one.run() }
                try await waitUntil("the first phase", within: .seconds(20)) { try changes(url).count == 1 }
                #expect(try changes(url) == [["opening_auction", nil, "2026-11-30", "BIST"]])
                clock.wrappingIncrement(by: 3 * UTCTime.nanosPerSecond, ordering: .relaxed)  // 10:00:01: continuous
                try await waitUntil("the change to continuous", within: .seconds(20)) { try changes(url).count == 2 }
                first.cancel()
                _ = await first.result

                // A restart in the same phase records nothing; one after the close records the close.
                let two = watcher()
                let second = Task { try await two.run() }
                try await Task.sleep(for: .milliseconds(300))
                #expect(try changes(url).count == 2)
                clock.wrappingIncrement(by: 5 * 86_400 * UTCTime.nanosPerSecond, ordering: .relaxed)  // Saturday
                try await waitUntil("the close", within: .seconds(20)) { try changes(url).count == 3 }
                second.cancel()
                _ = await second.result
                #expect(try changes(url) == [["opening_auction", nil, "2026-11-30", "BIST"],
                                             ["continuous", "opening_auction", "2026-11-30", "BIST"],
                                             ["closed", "continuous", "2026-12-05", "BIST"]])
                let verified = try await AuditVerification.run(client: client, logger: Self.logger)
                #expect(verified.first { $0.topic == .market }?.checked == 3, "chained like every event")
            }
        }
    }
}
