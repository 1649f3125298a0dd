import AkisConfig
import Logging

/// What every module is built from: the one configuration, the daemon's log, the shared
/// database (when one is configured), and the registries its metrics, readiness checks and
/// heartbeats go into.
public struct ModuleContext: Sendable {
    public let configuration: AkisConfiguration
    public let logger: Logger
    /// Nil when the configuration names no database.
    public let database: Database?
    public let metrics: DaemonMetrics
    public let readiness: Readiness
    public let heartbeats: Heartbeats

    public init(configuration: AkisConfiguration, logger: Logger, database: Database?, metrics: DaemonMetrics,
                readiness: Readiness, heartbeats: Heartbeats) {
        self.configuration = configuration
        self.logger = logger
        self.database = database
        self.metrics = metrics
        self.readiness = readiness
        self.heartbeats = heartbeats
    }

    /// Logs one line at info level (the daemon's journal is line-oriented).
    public func log(_ line: String) { logger.info("\(line)") }
}
