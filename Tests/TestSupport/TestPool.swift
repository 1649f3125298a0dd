import PostgresNIO
import Store

/// A postgres-nio pool on `url`, running while `body` runs (as the daemon's pool service does).
public func withPool<T: Sendable>(_ url: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: try .init(conninfo: url))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}
