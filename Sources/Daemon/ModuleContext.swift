import AkisConfig
import Logging

/// What every module is built from: the one configuration, the daemon's log, the shared
/// database (when one is configured), the registries its metrics, readiness checks and
/// heartbeats go into, and the parts earlier modules offer.
public struct ModuleContext: Sendable {
    public let configuration: AkisConfiguration
    public let logger: Logger
    /// Nil when the configuration names no database.
    public let database: Database?
    public let metrics: DaemonMetrics
    public let readiness: Readiness
    public let heartbeats: Heartbeats
    /// Parts earlier modules offer to later ones (the event store, …).
    public let shared: SharedParts

    public init(configuration: AkisConfiguration, logger: Logger, database: Database?, metrics: DaemonMetrics,
                readiness: Readiness, heartbeats: Heartbeats, shared: SharedParts = SharedParts()) {
        self.configuration = configuration
        self.logger = logger
        self.database = database
        self.metrics = metrics
        self.readiness = readiness
        self.heartbeats = heartbeats
        self.shared = shared
    }

    /// Logs one line at info level (the daemon's journal is line-oriented).
    public func log(_ line: String) { logger.info("\(line)") }
}
