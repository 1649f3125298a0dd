import ServiceLifecycle

/// Runs `tick` every `interval` until graceful shutdown, then `last` once. For the periodic
/// summary, storage maintenance and the like: work that must never wait in the ingest path.
public struct PeriodicService: Service, CustomStringConvertible {
    public let name: String
    private let interval: Duration
    private let tick: @Sendable () async -> Void
    private let last: @Sendable () async -> Void

    public init(name: String, every interval: Duration, last: @escaping @Sendable () async -> Void = {},
                tick: @escaping @Sendable () async -> Void) {
        self.name = name
        self.interval = interval
        self.tick = tick
        self.last = last
    }

    public var description: String { name }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
            if Task.isShuttingDownGracefully { break }
            await tick()
        }
        await last()
    }
}
