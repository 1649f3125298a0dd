import ServiceLifecycle

/// A dedicated thread as a service: the hot path (readers, pipeline, lane consumers) keeps its
/// own threads and never runs on the cooperative pool, but starts and stops with the group.
///
/// `run()` starts the thread and waits for its end. There are two kinds:
/// - a **source** (a feed reader) is given `stop`, called on graceful shutdown; it runs until
///   then. Should it end by itself, the service returns at once, which stops the group;
/// - a **stage** (the pipeline, a lane's consumer) has no `stop`: it ends when the stage feeding
///   it has ended, usually before the group asks it to, and then waits for its turn in the
///   shutdown order, so that the group sees services finish in the order it stops them.
///
/// A thread that fails throws, which stops the group too.
public struct ThreadService: Service, CustomStringConvertible {
    public let name: String
    private let body: @Sendable () throws -> Void
    private let stop: (@Sendable () -> Void)?
    private let afterEnd: @Sendable () async -> Void

    /// - Parameters:
    ///   - name: the thread's name (`akis-…`, shown by `top -H`).
    ///   - stop: asks a source's thread to finish, called on graceful shutdown; nil for a stage.
    ///   - afterEnd: runs once the thread has ended, before the service returns (a last step of
    ///     the drain that the next service to stop depends on).
    public init(name: String, stop: (@Sendable () -> Void)? = nil, afterEnd: @escaping @Sendable () async -> Void = {},
                _ body: @escaping @Sendable () throws -> Void) {
        self.name = name
        self.body = body
        self.stop = stop
        self.afterEnd = afterEnd
    }

    public var description: String { name }

    public func run() async throws {
        let thread = WorkerThread(name: name, body)
        await withGracefulShutdownHandler {
            await thread.ended()
        } onGracefulShutdown: {
            stop?()
        }
        if let error = thread.error { throw ThreadFailure(thread: name, error: error) }
        await afterEnd()
        if stop == nil { try? await gracefulShutdown() }
    }
}

/// A dedicated thread ended with an error.
public struct ThreadFailure: Error, CustomStringConvertible {
    public let thread: String
    public let error: any Error
    public var description: String { "\(error)" }
}
