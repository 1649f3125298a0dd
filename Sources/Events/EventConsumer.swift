import Foundation
import NIOCore
import PostgresNIO

/// An in-process consumer of the event store. Adding one is a type with a name, its topics and
/// `handle`; `EventConsumers` delivers every event of those topics to it, in each topic's order.
///
/// Guarantees: at least once, and applied once. `handle` runs inside a transaction that also
/// records the event as applied by this consumer and moves its position, so what it does in the
/// database commits together with them. A redelivered event (after a crash, or a retry) whose
/// id is recorded is skipped. What it does outside the database (a mail, a Kafka message) may
/// happen again after a crash; such a consumer dedupes by `StoredEvent.id`.
public protocol EventConsumer: Sendable {
    /// Stable: its positions, applied events and dead letters are kept under this name.
    var name: String { get }
    var topics: [Topic] { get }
    /// Handles one event; throwing makes it retried (exponential backoff with jitter), and after
    /// the last attempt moved to the dead letters with the error.
    func handle(_ event: StoredEvent, on connection: PostgresConnection) async throws
}

/// An event as the store keeps it.
public struct StoredEvent: Sendable {
    public let topic: Topic
    public let sequence: Int64
    public let id: UUID
    public let type: String
    public let key: String
    /// The envelope's JSON bytes (`eventId`, `eventType`, `timestamp`, `version`, `data`).
    public let envelope: [UInt8]

    /// The envelope's `data` object, parsed.
    public var data: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(envelope))) as? [String: Any])?["data"] as? [String: Any] ?? [:]
    }
}
