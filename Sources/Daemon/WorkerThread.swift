import Foundation
import Ingest
import Synchronization

/// A named thread that keeps the error it failed with, and whose end can be awaited.
final class WorkerThread: Sendable {
    private enum State {
        case running([CheckedContinuation<Void, Never>])
        case ended
    }

    private let state = Mutex(State.running([]))
    private let failure = Mutex<(any Error)?>(nil)

    init(name: String, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            ThreadName.set(name)
            // Signals go to the service group's handler, never into a hot-path thread's wait.
            var signals = sigset_t()
            sigemptyset(&signals)
            for s in [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2] { sigaddset(&signals, s) }
            pthread_sigmask(SIG_BLOCK, &signals, nil)
            do { try body() } catch { failure.withLock { $0 = error } }
            let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state = .ended }
                if case .running(let waiting) = state { return waiting }
                return []
            }
            for continuation in waiting { continuation.resume() }
        }
        thread.name = name
        thread.start()
    }

    var error: (any Error)? { failure.withLock { $0 } }

    /// Returns once the thread's body has returned.
    func ended() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard case .running(var waiting) = state else { return true }
                waiting.append(continuation)
                state = .running(waiting)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
