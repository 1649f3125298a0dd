/// The event topics of the reference's "Kafka Topics Configuration": each event type belongs to
/// one, which says where the relay publishes it and how long the event store keeps it.
public enum Topic: String, CaseIterable, Sendable {
    case user = "user-events"
    case trading = "trading-events"
    case market = "market-events"
    case notification = "notification-events"
    case audit = "audit-events"

    /// Partitions of the topic (the reference's table).
    public var partitions: Int {
        switch self {
        case .user: 6
        case .trading: 12
        case .market: 24
        case .notification: 3
        case .audit: 6
        }
    }

    /// How long events of the topic are kept, in days (the reference's table; a year as 365 days).
    public var retentionDays: Int {
        switch self {
        case .user: 30
        case .trading: 7 * 365
        case .market: 1
        case .notification: 7
        case .audit: 10 * 365
        }
    }
}
