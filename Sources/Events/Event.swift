import Foundation
import Ingest

/// One event: the reference's envelope (`eventId`, `eventType`, `timestamp`, `version`, `data`)
/// plus what the store and the relay need besides (its partition key).
public struct Event: Sendable {
    /// The envelope's `version`.
    public static let version = "1.0"

    public let id: UUID
    public let type: EventType
    /// When it happened, in nanoseconds since the epoch (UTC).
    public let time: Int64
    /// The value it is partitioned by: the user's id or the symbol (`type.partitionKey`).
    public let key: String
    /// The envelope's `data`, in field order.
    public let data: [(String, JSONValue)]

    public init(_ type: EventType, key: String, data: [(String, JSONValue)], id: UUID = UUID(), time: Int64 = Clock.wallNanos()) {
        self.id = id
        self.type = type
        self.time = time
        self.key = key
        self.data = data
    }

    /// The envelope's JSON, the bytes that are stored, chained and published:
    /// `{"eventId":…,"eventType":…,"timestamp":…,"version":"1.0","data":{…}}`.
    public var envelope: [UInt8] {
        let text = JSONValue.object([
            ("eventId", .string(id.uuidString.lowercased())),
            ("eventType", .string(type.rawValue)),
            ("timestamp", .string(UTCTime.formatISO8601(time))),
            ("version", .string(Self.version)),
            ("data", .object(data)),
        ]).text
        return Array(text.utf8)
    }
}
