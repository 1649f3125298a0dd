import NIOCore
import Synchronization

/// Wakes client writers with one task per event loop rather than one per writer: the fan-out
/// thread wakes a dozen writers for each tick, and every `execute` on a sleeping loop is a system
/// call. A writer woken while its loop already has a wake-up pending joins it.
final class WriterWakeups: Sendable {
    /// The writers of one event loop waiting for their wake-up task.
    final class Loop: Sendable {
        let loop: any EventLoop
        private let pending = Mutex<[ClientWriter]>([])
        init(_ loop: any EventLoop) { self.loop = loop }

        /// Runs `writer.drain()` on the loop soon (any thread).
        func wake(_ writer: ClientWriter) {
            let first = pending.withLock { list in
                list.append(writer)
                return list.count == 1
            }
            guard first else { return }
            loop.execute {
                let writers = self.pending.withLock { list in
                    defer { list.removeAll(keepingCapacity: true) }
                    return list
                }
                for writer in writers { writer.drain() }
            }
        }
    }

    private let loops = Mutex<[ObjectIdentifier: Loop]>([:])

    /// The wake-ups of `loop` (kept by each writer: looked up once per connection).
    func loop(_ loop: any EventLoop) -> Loop {
        loops.withLock { all in
            if let existing = all[ObjectIdentifier(loop)] { return existing }
            let created = Loop(loop)
            all[ObjectIdentifier(loop)] = created
            return created
        }
    }
}
