import Foundation
import Glibc

/// A task executor whose threads may block: libpq, waiting for a process, a blocking socket, a
/// sleep. Swift's cooperative pool has one thread per core (two on the colocated box), so a task
/// that blocks there stops every other task; under this executor it blocks only its own thread.
///
/// The pool grows a thread whenever a job would otherwise wait, so a job never waits behind a
/// blocked one (no deadlock when blocked work waits on other work here); threads left idle for
/// a few seconds end. Use it through `withTaskExecutorPreference(BlockingExecutor.shared) { … }`:
/// the body and its child tasks then run here and keep their task-local values.
public final class BlockingExecutor: TaskExecutor, @unchecked Sendable {
    /// The process's one pool of blocking threads.
    public static let shared = BlockingExecutor(name: "akis-blocking")

    private let name: String
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var queue: [UnownedJob] = []
    private var waiting = 0
    private var started = 0

    /// How long an idle thread waits for work before it ends.
    private static let idleNanos: Int64 = 5_000_000_000

    init(name: String) { self.name = name }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let spawn = lock.withLock { () -> Bool in
            queue.append(job)
            // Every queued job needs a waiting thread of its own; a busy thread may never return.
            if queue.count > waiting { return true }
            lock.signal()
            return false
        }
        if spawn { startThread() }
    }

    /// Whether the calling thread is one of this executor's.
    public static var isCurrentThreadBlockingWorker: Bool { pthread_getspecific(workerKey) != nil }

    private func startThread() {
        let number = lock.withLock { () -> Int in
            started += 1
            return started
        }
        let thread = Thread { [self] in
            pthread_setspecific(workerKey, UnsafeRawPointer(bitPattern: 1))
            ThreadName.set("\(name.prefix(11))-\(number % 1000)")
            work()
        }
        thread.name = "\(name)-\(number)"
        thread.start()
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while let job = next() { job.runSynchronously(on: executor) }
    }

    /// The next job, or nil once the thread has been idle for `idleNanos`.
    private func next() -> UnownedJob? {
        lock.withLock {
            if queue.isEmpty {
                waiting += 1
                lock.wait(timeoutNanos: Self.idleNanos)
                waiting -= 1
            }
            return queue.isEmpty ? nil : queue.removeFirst()
        }
    }
}

/// Marks the threads of every `BlockingExecutor`.
private let workerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
