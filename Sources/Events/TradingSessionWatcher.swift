import Aggregator
import Foundation
import Ingest
import Logging
import PostgresNIO
import ServiceLifecycle

/// TradingSessionChanged: a service beside the store writer (never the pipeline thread) that
/// appends one event to `market-events` (key `BIST`) each time the market's session phase changes
/// by the BIST calendar (Istanbul time): opening auction, continuous, closing auction, closed.
///
/// It reads the phase the last such event recorded when it starts, so a restart neither repeats
/// a change nor misses one: a daemon that was down across a change records it when it is back,
/// with the phase it last recorded as the previous one. The first start records the phase of the
/// moment (with no previous phase).
public final class TradingSessionWatcher: Service, Sendable, CustomStringConvertible {
    private let client: PostgresClient
    private let calendar: SessionCalendar
    private let store: EventStore
    private let logger: Logger
    private let interval: Duration
    private let now: @Sendable () -> Int64

    public init(client: PostgresClient, calendar: SessionCalendar, store: EventStore, logger: Logger,
                every interval: Duration = .seconds(1), now: @escaping @Sendable () -> Int64 = Clock.wallNanos) {
        self.client = client
        self.calendar = calendar
        self.store = store
        self.logger = logger
        self.interval = interval
        self.now = now
    }

    public var description: String { "trading session watcher" }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var recorded: SessionPhase??  // nil: not read yet; .some(nil): no event yet
            while !Task.isCancelled {
                do {
                    if recorded == nil { recorded = .some(try await self.lastRecorded()) }
                    let time = self.now()
                    let phase = self.calendar.phase(at: time)
                    if let last = recorded, last != phase {
                        try await self.record(phase, after: last, at: time)
                        recorded = .some(phase)
                    }
                } catch {
                    if Task.isCancelled { return }
                    self.logger.debug("events: the trading session watcher waits for the database (\(error))")
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// The event for a change to `phase` noticed at `time` (nanoseconds, UTC).
    public static func event(_ phase: SessionPhase, after previous: SessionPhase?, at time: Int64) -> Event {
        let day = SessionCalendar.istanbulDay(of: time)
        let date = UTCTime.formatISO8601(Int64(day) * 86_400 * UTCTime.nanosPerSecond).prefix(10)
        return Event(.tradingSessionChanged, key: MarketProducers.marketKey, data: [
            ("market", .string(MarketProducers.marketKey)),
            ("phase", .string(phase.rawValue)),
            ("previousPhase", previous.map { .string($0.rawValue) } ?? .null),
            ("tradingDay", .string(String(date))),
        ], time: time)
    }

    private func record(_ phase: SessionPhase, after previous: SessionPhase?, at time: Int64) async throws {
        let event = Self.event(phase, after: previous, at: time)
        _ = try await client.withTransaction(logger: logger) { c in try await self.store.append([event], on: c, logger: self.logger) }
        logger.info("events: trading session \(previous?.rawValue ?? "unknown") → \(phase.rawValue)")
    }

    private func lastRecorded() async throws -> SessionPhase? {
        let logger = logger
        return try await client.withConnection { c in
            try await EventStore.newest(.tradingSessionChanged, field: "phase", on: c, logger: logger).flatMap(SessionPhase.init(rawValue:))
        }
    }
}
