import AkisConfig
import Ingest

/// `[kafka]`: where events go when other systems consume them (docs/events.md). Without
/// `brokers` there is no relay and no market lane; the event store and the in-process consumers
/// work the same either way.
public struct KafkaSettings: ModuleSettings {
    public static let section = "kafka"

    /// `host:port` of the bootstrap brokers; empty: Kafka is off.
    public var brokers: [String] = []
    /// Events the relay reads and publishes per round (it waits for every delivery report of a
    /// round before it moves its position).
    public var relayBatch = 10_000
    /// How long librdkafka keeps retrying a message before it reports it failed
    /// (`message.timeout.ms`); the relay then sends it again from its position.
    public var deliveryTimeoutNanos: Int64 = 30_000_000_000
    /// Every tick to `market-events` from a lane of its own.
    public var marketLane = true
    /// The market lane's ring, in ticks. When it is full the pipeline drops for this lane only
    /// (never waits), and the lane catches up from the stored ticks.
    public var marketLaneCapacity = 1 << 18
    /// How the producers compress their batches (`compression.codec`): lz4 by default, which
    /// took the broker's CPU for the market lane down by a third here (docs/performance.md).
    public var compression = Compression.lz4
    /// How long the market lane's producer waits to fill a batch (`linger.ms`): larger batches
    /// cost the brokers less per tick; a tick reaches Kafka up to this much later.
    public var marketLaneLingerNanos: Int64 = 100_000_000

    /// librdkafka's `compression.codec` values.
    public enum Compression: String, CaseIterable, Sendable {
        case none, lz4, zstd, snappy, gzip
    }

    public var enabled: Bool { !brokers.isEmpty }

    public init() {}

    public mutating func read(_ section: inout ConfigSection) throws(ConfigError) {
        brokers = try section.stringArray("brokers") ?? brokers
        for broker in brokers {
            guard let (_, port) = AkisConfiguration.hostAndPort(broker), port > 0 else {
                throw section.fail("brokers", "\(Sanitized(broker)) is not HOST:PORT")
            }
        }
        relayBatch = try section.integer("relay_batch", default: relayBatch, in: 1...1_000_000)
        deliveryTimeoutNanos = try section.duration("delivery_timeout", default: deliveryTimeoutNanos, in: 1_000_000_000...3_600_000_000_000)
        marketLane = try section.bool("market_lane", default: marketLane)
        marketLaneCapacity = try section.integer("market_lane_capacity", default: marketLaneCapacity, in: 1024...(1 << 26))
        compression = try section.choice("compression", default: compression)
        marketLaneLingerNanos = try section.duration("market_lane_linger", default: marketLaneLingerNanos, in: 0...5_000_000_000)
    }

    public var summary: String {
        guard enabled else { return "off (no brokers)" }
        return "brokers \(brokers.joined(separator: ",")), relay rounds of \(relayBatch), delivery timeout \(deliveryTimeoutNanos / 1_000_000_000) s, compression \(compression.rawValue), "
            + (marketLane ? "market lane of \(marketLaneCapacity) ticks lingering \(marketLaneLingerNanos / 1_000_000) ms" : "no market lane")
    }
}
