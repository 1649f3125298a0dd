import Foundation
import Logging
import PostgresNIO

/// `akis events dlq`: the events consumers gave up on, and what to do with them.
public enum DeadLetters {
    public struct Letter: Sendable {
        public let id: Int64
        public let consumer: String
        public let topic: String
        public let sequence: Int64
        public let eventID: UUID
        public let type: String
        public let attempts: Int
        public let error: String
        public let failedAt: Date
        public let retryRequested: Bool
    }

    public static func list(client: PostgresClient, logger: Logger) async throws -> [Letter] {
        let rows = try await client.query("""
            SELECT id, consumer, topic, seq, event_id, event_type, attempts, error, failed_at, retry_requested
            FROM event_dead_letters ORDER BY id
            """, logger: logger)
        var out: [Letter] = []
        for try await (id, consumer, topic, seq, eventID, type, attempts, error, failedAt, retry)
            in rows.decode((Int64, String, String, Int64, UUID, String, Int32, String, Date, Bool).self) {
            out.append(Letter(id: id, consumer: consumer, topic: topic, sequence: seq, eventID: eventID, type: type, attempts: Int(attempts),
                              error: error, failedAt: failedAt, retryRequested: retry))
        }
        return out
    }

    /// Asks the consumers to try these letters (nil: all) again; returns how many. A running
    /// daemon is woken through `NOTIFY akis_events`.
    public static func retry(_ ids: [Int64]?, client: PostgresClient, logger: Logger) async throws -> Int {
        try await client.withTransaction(logger: logger) { c in
            let rows: PostgresQuery = ids.map { "UPDATE event_dead_letters SET retry_requested = true WHERE id = ANY(\($0)) RETURNING id" }
                ?? "UPDATE event_dead_letters SET retry_requested = true RETURNING id"
            var n = 0
            for try await _ in try await c.query(rows, logger: logger).decode(Int64.self) { n += 1 }
            try await c.query("SELECT pg_notify('akis_events', 'dlq')", logger: logger)
            return n
        }
    }

    /// Removes these letters (nil: all) for good; returns how many.
    public static func drop(_ ids: [Int64]?, client: PostgresClient, logger: Logger) async throws -> Int {
        let query: PostgresQuery = ids.map { "DELETE FROM event_dead_letters WHERE id = ANY(\($0)) RETURNING id" }
            ?? "DELETE FROM event_dead_letters RETURNING id"
        var n = 0
        for try await _ in try await client.query(query, logger: logger).decode(Int64.self) { n += 1 }
        return n
    }
}
