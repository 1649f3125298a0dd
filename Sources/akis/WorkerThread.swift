import Foundation
import Ingest
import Synchronization

/// A named thread that can be joined and that keeps the error it failed with.
final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<(any Error)?>(nil)

    init(name: String, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            ThreadName.set(name)
            do { try body() } catch { failure.withLock { $0 = error } }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    var error: (any Error)? { failure.withLock { $0 } }
    var failed: Bool { error != nil }

    func join() {
        done.wait()
        done.signal()
    }
}
