import Daemon
import Store

/// The events module: the event store (the outbox the other modules append to in their own
/// transactions) and its audit chains. Consumers, dead letters and the Kafka relay come next
/// (docs/events.md).
public struct EventsModule: DaemonModule {
    public static let name = "events"
    public static var migrations: [Migration] { EventSchema.migrations }

    /// The store every module appends through.
    public let store = EventStore()

    public init(context: ModuleContext) throws {
        let store = store
        context.metrics.counter("events_appended", "Events appended to the event store (in transactions that may still roll back)") {
            store.appended.load(ordering: .relaxed)
        }
    }
}
