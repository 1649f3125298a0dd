import Atomics
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The event store: the outbox every module writes its events to, in the same transaction as the
/// change they describe, so the two commit together or not at all.
///
/// `append` takes the caller's open transaction and appends through the schema's
/// `akis_append_event`, the one way in for postgres-nio and libpq callers alike (the store
/// writer's batches): it locks the topic's chain head until the caller commits (so a topic's
/// sequence numbers follow commit order, which is what the consumers and the relay read by),
/// chains the event exactly as `AuditChain.link` does, and notifies `akis_events` at commit.
public final class EventStore: Sendable {
    /// Events appended (committed or not: the caller decides).
    public let appended = ManagedAtomic<UInt64>(0)

    public init() {}

    /// Appends `events` inside the transaction open on `connection`; returns each one's topic
    /// and sequence number. Topic by topic in topic order, each topic's in the order given.
    @discardableResult
    public func append(_ events: [Event], on connection: PostgresConnection, logger: Logger) async throws -> [(topic: Topic, sequence: Int64)] {
        var placed = [(topic: Topic, sequence: Int64)](repeating: (.user, 0), count: events.count)
        for index in events.indices.sorted(by: { (events[$0].type.topic.rawValue, $0) < (events[$1].type.topic.rawValue, $1) }) {
            let event = events[index]
            let topic = event.type.topic
            let rows = try await connection.query("""
                SELECT akis_append_event(\(topic.rawValue), \(event.id), \(event.type.rawValue), \(event.key),
                                         TIMESTAMPTZ 'epoch' + \(event.time / 1_000) * INTERVAL '1 microsecond', \(ByteBuffer(bytes: event.envelope)))
                """, logger: logger)
            for try await sequence in rows.decode(Int64.self) { placed[index] = (topic, sequence) }
        }
        appended.wrappingIncrement(by: UInt64(events.count), ordering: .relaxed)
        return placed
    }

    /// One field of the `data` of the newest stored event of `type` (nil: no such event, or no
    /// such field): where a producer that appends one event per change left off.
    public static func newest(_ type: EventType, field: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query("""
            SELECT convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> \(field) FROM event_store
            WHERE topic = \(type.topic.rawValue) AND event_type = \(type.rawValue)
            ORDER BY seq DESC LIMIT 1
            """, logger: logger)
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }
}

public struct EventStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
