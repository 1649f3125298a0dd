import Foundation
import Ingest
import Testing

/// Runs blocking work (waiting for a process, a libpq query, a blocking socket) on a thread of
/// `BlockingExecutor`, so that the other suites' async tests keep the cooperative pool (two
/// threads on this machine). The work stays in the calling task: `#expect` inside it reports to
/// the test as anywhere else. A body that also awaits keeps off the pool all it runs between awaits.
public func offThePool<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(BlockingExecutor.shared) { try await body() }
}

/// Runs every test of a suite (or one test) on `BlockingExecutor`, for tests that block by their
/// nature: waiting for `akis` processes, libpq, sleeps. Their child tasks run there too; tasks
/// they start with `Task { }` go to the cooperative pool as usual.
public struct OffThePoolTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(BlockingExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffThePoolTrait {
    /// Every test runs on `BlockingExecutor`, never on the cooperative pool.
    public static var offThePool: Self { OffThePoolTrait() }
}

/// Records a test failure when `what`, a blocking wait, is about to run on the cooperative pool:
/// the check behind every blocking helper here that cannot throw (a process wait, a sleep).
/// The wait then goes ahead: the test fails, and nothing hangs because of the check.
public func expectOffThePool(_ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
    if CooperativePool.isCurrent {
        Issue.record(Comment(rawValue: BlockingOnCooperativePool(what: what()).description), sourceLocation: sourceLocation)
    }
}

/// Sleeps the calling thread, checked: on the cooperative pool it records a failure (use
/// `Task.sleep` there). The one sleep tests may call; scripts/lint-tests refuses the raw ones.
public func sleepBlocking(_ duration: Duration, sourceLocation: SourceLocation = #_sourceLocation) {
    expectOffThePool("a blocking sleep", sourceLocation: sourceLocation)
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// Runs `body` on a new thread of its own and returns what it made, for work that changes its
/// thread (its priority, its name, its signal mask) as a product thread of its own would:
/// `BlockingExecutor`'s threads are shared by every test.
public func onAThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
