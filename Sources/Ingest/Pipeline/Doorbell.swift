import Atomics
import Glibc

/// Lets the consumer of a ring sleep when there is nothing to do, and lets producers wake it
/// without a system call in the common case (the consumer awake): ringing costs one atomic load
/// unless the consumer is actually asleep.
///
/// Protocol: the sleeper calls `sleep(timeoutNanos:isIdle:)`, which re-checks `isIdle` after
/// announcing that it sleeps; producers publish their data first, then `ring()`. Either the
/// sleeper sees the data in its re-check, or the producer sees it asleep and signals.
public final class Doorbell: @unchecked Sendable {
    private let sleeping = ManagedAtomic<Bool>(false)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Producer side, after publishing.
    @inline(__always)
    public func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Consumer side: sleeps until rung or `timeoutNanos` pass, unless `isIdle` turns out false.
    public func sleep(timeoutNanos: Int64, isIdle: () -> Bool) {
        pthread_mutex_lock(mutex)
        sleeping.store(true, ordering: .sequentiallyConsistent)
        if isIdle() {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = Int64(deadline.tv_nsec) + timeoutNanos
            deadline.tv_sec += Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            pthread_cond_timedwait(condition, mutex, &deadline)
        }
        sleeping.store(false, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }
}
