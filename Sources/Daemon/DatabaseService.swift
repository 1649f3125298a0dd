import Ingest
import NIOPosix
import PostgresNIO
import ServiceLifecycle

/// Runs the database's pool for the group and, while the schema is not ready (the database was
/// down at start), tries again with backoff until it is. It is the first service: it stops last,
/// after everything that queries it.
struct DatabaseService: Service, CustomStringConvertible {
    let database: Database
    var description: String { "database" }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await database.client.run() } }
            group.addTask {
                var backoff = ReconnectBackoff(initialNanos: 250_000_000, maximumNanos: 5_000_000_000)
                while database.schema.layout == nil && !Task.isShuttingDownGracefully {
                    let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
                    do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(delay)) } } catch { return }
                    // libpq blocks: on NIO's pool for blocking work, not the cooperative one.
                    try? await NIOThreadPool.singleton.runIfActive { database.prepare() }
                }
            }
        }
    }
}
