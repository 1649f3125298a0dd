import Foundation
import Synchronization

/// A named thread that can be joined and that keeps the error it failed with.
final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let failure = Mutex<(any Error)?>(nil)

    init(name: String, _ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            // Shown in /proc/PID/task/*/comm, top -H and perf (at most 15 bytes).
            // (pthread_setname_np and prctl are not visible to Swift; the proc file does the same.)
            let fd = open("/proc/thread-self/comm", O_WRONLY)
            if fd >= 0 {
                let bytes = Array(name.utf8.prefix(15))
                _ = write(fd, bytes, bytes.count)
                close(fd)
            }
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
