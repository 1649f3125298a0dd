import Foundation
import Synchronization

/// A wait in a test that ran past its deadline.
public struct TestTimeout: Error, CustomStringConvertible {
    public let what: String
    public init(_ what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// The value of `task`, or `TestTimeout` once `limit` has passed (the task is then cancelled).
///
/// Awaiting `task.value` directly waits for ever if the task never ends, and neither Swift
/// Testing's `.timeLimit` nor cancellation reaches an unstructured task: the test process would
/// hang. This returns at the deadline whatever the task does.
public func value<T: Sendable>(of task: Task<T, any Error>, within limit: Duration, _ what: String) async throws -> T {
    try await race(limit, what, onTimeout: { task.cancel() }) { try await task.value }
}

/// `value(of:within:_:)` for a task that cannot throw.
public func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration, _ what: String) async throws -> T {
    try await race(limit, what, onTimeout: { task.cancel() }) { await task.value }
}

/// Polls `condition` every few milliseconds until it holds; throws `TestTimeout` after `limit`.
/// The condition runs where the caller runs: a blocking one (a libpq query) needs a caller off the
/// cooperative pool (`offThePool`, a suite with `.offThePool`), which libpq checks; `eventually`
/// is the async form for conditions that need I/O.
public func waitUntil(_ what: @autoclosure () -> String, within limit: Duration = .seconds(30),
                      every interval: Duration = .milliseconds(25), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw TestTimeout(what()) }
        try await Task.sleep(for: interval)
    }
}

/// Polls the async `condition` every few milliseconds until it holds; throws `TestTimeout` after
/// `limit`. For conditions that need I/O (an HTTP request, the fake AlgoLab's log): use the async
/// helpers inside, never blocking calls, which would hold a thread of the cooperative pool.
public func eventually(_ what: @autoclosure () -> String, within limit: Duration = .seconds(30),
                       every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestTimeout(what()) }
        try await Task.sleep(for: interval)
    }
}

/// Runs `body` in a task of its own and returns its result, or throws `TestTimeout` at the
/// deadline without waiting for it.
private func race<T: Sendable>(_ limit: Duration, _ what: String, onTimeout: @escaping @Sendable () -> Void,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = Once<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.arm(continuation)
        let timer = Task {
            try? await Task.sleep(for: limit)
            if once.resume(with: .failure(TestTimeout("\(what) (\(limit))"))) { onTimeout() }
        }
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            if once.resume(with: result) { timer.cancel() }
        }
    }
}

/// A continuation resumed by whichever side comes first.
private final class Once<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func arm(_ c: CheckedContinuation<T, any Error>) { continuation.withLock { $0 = c } }

    /// True for the call that resumed it.
    func resume(with result: Result<T, any Error>) -> Bool {
        guard let c = continuation.withLock({ $0.take() }) else { return false }
        c.resume(with: result)
        return true
    }
}
