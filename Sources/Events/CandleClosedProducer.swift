import Aggregator
import Foundation
import Ingest
import Logging
import PostgresNIO
import ServiceLifecycle

/// CandleClosed: a service beside the store writer that appends one event per stored 1-minute
/// candle once its minute is over for good, read from `market_candles` (so spooled batches,
/// rebuilt candles and restarts are covered alike: what is stored is what is told).
///
/// A minute is over for good when the store has committed ticks at least the aggregator's allowed
/// lateness after its end (the `to` of the newest MarketDataReceived, which commits with its
/// batch): later trades no longer correct it in memory. Each pass appends
/// the candles of the minutes over since the last CandleClosed in the store, in one transaction,
/// by minute and symbol; the first start tells the last day (`market-events` is kept a day).
public final class CandleClosedProducer: Service, Sendable, CustomStringConvertible {
    private let client: PostgresClient
    private let store: EventStore
    private let latenessNanos: Int64
    private let logger: Logger
    private let interval: Duration

    public init(client: PostgresClient, store: EventStore, allowedLatenessNanos: Int64, logger: Logger, every interval: Duration = .seconds(5)) {
        self.client = client
        self.store = store
        latenessNanos = allowedLatenessNanos
        self.logger = logger
        self.interval = interval
    }

    public var description: String { "candle closed producer" }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { _ = try await self.pass() } catch {
                    if Task.isCancelled { return }
                    self.logger.debug("events: the candle closed producer waits for the database (\(error))")
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// One pass: appends the candles whose minutes are over since the last one told; returns how many.
    @discardableResult
    public func pass() async throws -> Int {
        let logger = logger
        let lateness = latenessNanos
        return try await client.withTransaction(logger: logger) { c in
            // One pass at a time, even across processes: the market chain's head is locked until
            // this transaction ends (the store writer's appends wait those few milliseconds).
            try await c.query("SELECT 1 FROM event_chain WHERE topic = \(Topic.market.rawValue) FOR UPDATE", logger: logger)
            // How far the stored market time has come: the newest batch's last exchange time.
            guard let latest = try await Self.time(EventStore.newest(.marketDataReceived, field: "to", on: c, logger: logger)) else { return 0 }
            let told = try await Self.time(EventStore.newest(.candleClosed, field: "start", on: c, logger: logger))
            let after = told ?? (latest - 86_400 * UTCTime.nanosPerSecond)
            // Over for good: the minute's end plus the lateness is at or before the newest minute's start.
            let before = latest - lateness - Candle.minuteNanos
            guard before > after else { return 0 }
            var events: [Event] = []
            for try await (symbol, micros, open, high, low, close, volume, trades) in try await c.query("""
                SELECT symbol, (EXTRACT(EPOCH FROM bucket) * 1000000)::bigint, open, high, low, close, volume, trade_count::bigint
                FROM market_candles
                WHERE bucket > TIMESTAMPTZ 'epoch' + \(after / 1_000) * INTERVAL '1 microsecond'
                  AND bucket <= TIMESTAMPTZ 'epoch' + \(before / 1_000) * INTERVAL '1 microsecond'
                ORDER BY bucket, symbol
                """, logger: logger).decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
                let start = micros * 1_000
                events.append(Event(.candleClosed, key: symbol, data: [
                    ("symbol", .string(symbol)), ("interval", .string("1m")), ("start", .string(UTCTime.formatISO8601(start))),
                    ("open", .price(Price(units: open))), ("high", .price(Price(units: high))), ("low", .price(Price(units: low))),
                    ("close", .price(Price(units: close))), ("volume", .integer(volume)), ("trades", .integer(trades)),
                ], time: start + Candle.minuteNanos))
            }
            guard !events.isEmpty else { return 0 }
            try await self.store.append(events, on: c, logger: logger)
            return events.count
        }
    }

    /// A time as the events write it (`UTCTime.formatISO8601`), in nanoseconds.
    private static func time(_ text: String?) -> Int64? {
        text.flatMap { Array($0.utf8).withUnsafeBytes { UTCTime.parseISO8601($0) } }
    }
}
