import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, throwing what the body threw (an `AuthFailure`, a unique violation)
    /// rather than postgres-nio's wrapper around it; a failed BEGIN or COMMIT stays wrapped.
    public func transaction<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
