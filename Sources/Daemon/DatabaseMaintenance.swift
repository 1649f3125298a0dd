import ServiceLifecycle
import Store

/// Work on the database that runs as soon as the schema is ready (at start, or when a database
/// that was down at start comes back) and then every `interval`: storage maintenance, event
/// retention. Readiness is checked every 10 s; `work` is told whether this is its first run.
public struct DatabaseMaintenance: Service, CustomStringConvertible {
    public let name: String
    private let database: Database
    private let interval: Duration
    private let work: @Sendable (StorageLayout, _ first: Bool) async -> Void

    public init(name: String, database: Database, every interval: Duration,
                _ work: @escaping @Sendable (StorageLayout, _ first: Bool) async -> Void) {
        self.name = name
        self.database = database
        self.interval = interval
        self.work = work
    }

    public var description: String { name }

    public func run() async throws {
        var next: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let layout = database.schema.layout, next.map({ $0 <= .now }) ?? true {
                await work(layout, next == nil)
                next = .now + interval
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(10)) } } catch { break }
        }
    }
}
