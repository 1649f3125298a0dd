import Foundation

/// The rule that nothing blocking runs on Swift's cooperative pool, checked where blocking
/// calls are made (libpq, the test helpers that wait for processes or sleep).
///
/// The pool has one thread per core: two blocking calls there stop every task in the process,
/// a test's watcher as much as the daemon's HTTP server. Code that must block runs on a thread
/// of its own, on NIO's thread pool, or under `BlockingExecutor`.
public enum CooperativePool {
    /// Whether the caller runs a task on the cooperative pool (or another shared executor), as
    /// opposed to a thread of its own, the main thread or a `BlockingExecutor` thread.
    public static var isCurrent: Bool {
        withUnsafeCurrentTask { $0 != nil } && !Thread.isMainThread && !BlockingExecutor.isCurrentThreadBlockingWorker
    }

    /// Throws `BlockingOnCooperativePool` when `what` (a blocking call) is about to run on the
    /// cooperative pool. Checked in debug builds, where every test runs; a release build keeps
    /// the call's cost to nothing.
    public static func refuseBlocking(_ what: @autoclosure () -> String) throws {
        #if DEBUG
        if isCurrent { throw BlockingOnCooperativePool(what: what()) }
        #endif
    }
}

/// A blocking call made on the cooperative pool.
public struct BlockingOnCooperativePool: Error, CustomStringConvertible {
    /// The blocking call, e.g. a statement's first words.
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String {
        "\(what) would block a thread of Swift's cooperative pool: run it on a thread of its own, on NIO's thread pool, "
            + "or under BlockingExecutor (in tests: offThePool { … } or the suite trait .offThePool)"
    }
}
