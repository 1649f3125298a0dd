import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// CandleClosed from the stored candles, against the real server.
@Suite(.offThePool, .timeLimit(.minutes(2))) struct CandleClosedProducerTests {
    static let logger = Logger(label: "candle-closed-test")

    func told(_ url: String) throws -> [[String?]] {
        try LibpqConnection(conninfo: url).execute("""
            SELECT partition_key, e #>> '{data,start}', e #>> '{data,open}', e #>> '{data,close}', e #>> '{data,volume}', e #>> '{data,trades}'
            FROM (SELECT convert_from(envelope, 'UTF8')::jsonb AS e, partition_key, seq FROM event_store WHERE event_type = 'CandleClosed') s
            ORDER BY seq
            """).rows
    }

    func storeCandle(_ db: LibpqConnection, _ symbol: String, _ minute: String, close: Int64) throws {
        try db.execute("""
            INSERT INTO market_candles (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap, first_seq, last_seq)
            VALUES ('\(symbol)', '2026-11-30 07:\(minute):00+00', 15750000, 16000000, 15700000, \(close), 1000, 3, 15750000000, 15750000, 1, 3)
            """)
    }

    func batchStoredThrough(_ time: String, _ client: PostgresClient) async throws {
        let event = Event(.marketDataReceived, key: "BIST", data: [("to", .string(time))])
        _ = try await client.withTransaction(logger: Self.logger) { c in try await EventStore().append([event], on: c, logger: Self.logger) }
    }

    @Test func eachCandleIsToldOnceWhenItsMinuteIsOverForGood() async throws {
        try await withScratchDatabase { url in
            let db = try LibpqConnection(conninfo: url)
            try Migrator(layout: testLayout(), schemas: [.init(module: Migration.marketModule, migrations: Migration.all),
                                                         .init(module: "events", migrations: EventsModule.migrations)]).run(on: db)
            for (symbol, minute) in [("GARAN", "00"), ("AKBNK", "00"), ("GARAN", "01"), ("AKBNK", "01"), ("GARAN", "02")] {
                try storeCandle(db, symbol, minute, close: 15_760_000)
            }
            try await withPool(url) { client in
                let producer = CandleClosedProducer(client: client, store: EventStore(), allowedLatenessNanos: 60_000_000_000, logger: Self.logger)
                #expect(try await producer.pass() == 0, "nothing stored through a batch yet")
                // Stored through 07:02:30: with a minute of lateness, 07:00 is over for good, 07:01 not yet.
                try await batchStoredThrough("2026-11-30T07:02:30Z", client)
                #expect(try await producer.pass() == 2)
                #expect(try await producer.pass() == 0, "told once")
                try await batchStoredThrough("2026-11-30T07:04:00Z", client)
                #expect(try await producer.pass() == 3)
                let restarted = CandleClosedProducer(client: client, store: EventStore(), allowedLatenessNanos: 60_000_000_000, logger: Self.logger)
                #expect(try await restarted.pass() == 0, "a restart goes on from the last one told")
            }
            #expect(try told(url) == [
                ["AKBNK", "2026-11-30T07:00:00.000Z", "15.75", "15.76", "1000", "3"],
                ["GARAN", "2026-11-30T07:00:00.000Z", "15.75", "15.76", "1000", "3"],
                ["AKBNK", "2026-11-30T07:01:00.000Z", "15.75", "15.76", "1000", "3"],
                ["GARAN", "2026-11-30T07:01:00.000Z", "15.75", "15.76", "1000", "3"],
                ["GARAN", "2026-11-30T07:02:00.000Z", "15.75", "15.76", "1000", "3"],
            ])
        }
    }
}
