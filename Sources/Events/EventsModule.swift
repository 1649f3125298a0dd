import AkisConfig
import Daemon
import Logging
import ServiceLifecycle
import Store

/// The events module: the event store (the outbox the other modules append to in their own
/// transactions), its audit chains and retention, and the in-process consumers (docs/events.md).
/// It offers the modules assembled after it the `EventStore` and, with a database, the
/// `EventConsumers` to register their consumers with. With `[kafka] brokers` (and a database),
/// the Kafka relay publishes the store, and the market module adds its Kafka lane
/// (`KafkaSettings`, offered to it).
public struct EventsModule: DaemonModule {
    public static let name = "events"
    public static var migrations: [Migration] { EventSchema.migrations }
    public static var settings: (any ModuleSettings.Type)? { KafkaSettings.self }

    /// The store every module appends through.
    public let store = EventStore()
    public let services: [any Service]

    public init(context: ModuleContext) throws {
        let store = store
        context.shared.offer(store)
        context.metrics.counter("events_appended", "Events appended to the event store (in transactions that may still roll back)") {
            store.appended.load(ordering: .relaxed)
        }
        guard let database = context.database else {
            services = []
            return
        }
        let consumers = EventConsumers(client: database.client, logger: context.logger, metrics: context.metrics)
        context.shared.offer(consumers)
        context.metrics.counter("events_consumed", "Events the in-process consumers applied") { consumers.applied.load(ordering: .relaxed) }
        context.metrics.counter("events_dead_lettered", "Events consumers gave up on after their retries (event_dead_letters)") {
            consumers.deadLettered.load(ordering: .relaxed)
        }
        let logger = context.logger
        let retention = DatabaseMaintenance(name: "event retention", database: database, every: .seconds(3600)) { _, _ in
            do {
                let removed = try await EventRetention.run(client: database.client, logger: logger).filter { $0.value > 0 }
                if !removed.isEmpty {
                    let what = removed.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) from \($0.key.rawValue)" }.joined(separator: ", ")
                    logger.info("events: retention removed \(what)")
                }
            } catch {
                logger.info("events: retention failed (tried again in an hour): \(error)")
            }
        }
        var services: [any Service] = [
            retention,
            TradingSessionWatcher(client: database.client, calendar: context.configuration.calendar, store: store, logger: logger),
            CandleClosedProducer(client: database.client, store: store, allowedLatenessNanos: context.configuration.candles.allowedLatenessNanos,
                                 logger: logger),
        ]
        let kafka = context.configuration.settings(KafkaSettings.self)
        if kafka.enabled {
            var options = KafkaRelay.Options()
            options.batch = kafka.relayBatch
            options.deliveryTimeoutNanos = kafka.deliveryTimeoutNanos
            options.compression = kafka.compression
            let relay: KafkaRelay
            do {
                relay = try KafkaRelay(client: database.client, brokers: kafka.brokers, options: options, logger: logger, appended: consumers.wakeups())
            } catch {
                throw DaemonError("[kafka]: \(error)")
            }
            context.metrics.counter("events_relayed", "Events the Kafka relay delivered (acknowledged by the brokers)") { relay.relayed.load(ordering: .relaxed) }
            for topic in Topic.allCases {
                context.metrics.gauge("events_relay_lag", "Events in the store the Kafka relay has not delivered yet, as of its last round",
                                      labels: [("topic", topic.rawValue)]) { Double(relay.lag[topic]!.load(ordering: .relaxed)) }
            }
            services.append(relay)
        }
        services.append(consumers)
        self.services = services
    }
}
