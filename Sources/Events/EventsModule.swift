import Daemon
import Logging
import ServiceLifecycle
import Store

/// The events module: the event store (the outbox the other modules append to in their own
/// transactions), its audit chains, and the in-process consumers (docs/events.md). The Kafka
/// relay comes next.
public struct EventsModule: DaemonModule {
    public static let name = "events"
    public static var migrations: [Migration] { EventSchema.migrations }

    /// The store every module appends through.
    public let store = EventStore()
    public let services: [any Service]

    public init(context: ModuleContext) throws {
        let store = store
        context.metrics.counter("events_appended", "Events appended to the event store (in transactions that may still roll back)") {
            store.appended.load(ordering: .relaxed)
        }
        guard let database = context.database else {
            services = []
            return
        }
        let consumers = EventConsumers(client: database.client, consumers: [], logger: context.logger)
        context.metrics.counter("events_consumed", "Events the in-process consumers applied") { consumers.applied.load(ordering: .relaxed) }
        context.metrics.counter("events_dead_lettered", "Events consumers gave up on after their retries (event_dead_letters)") {
            consumers.deadLettered.load(ordering: .relaxed)
        }
        services = [consumers]
    }
}
