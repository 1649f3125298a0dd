import Atomics

/// Lets the consumer of a ring sleep when there is nothing to do, and lets producers wake it
/// without a system call in the common case (the consumer awake): ringing costs one atomic load
/// unless the consumer is actually asleep.
///
/// Protocol: the sleeper calls `sleep(timeoutNanos:isIdle:)`, which re-checks `isIdle` after
/// announcing that it sleeps; producers publish their data first, then `ring()`. Either the
/// sleeper sees the data in its re-check, or the producer sees it asleep and signals.
public final class Doorbell: @unchecked Sendable {
    private let sleeping = ManagedAtomic<Bool>(false)
    private let lock = ConditionLock()

    public init() {}

    /// Producer side, after publishing.
    @inline(__always)
    public func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        lock.withLock { lock.signal() }
    }

    /// Consumer side: sleeps until rung or `timeoutNanos` pass, unless `isIdle` turns out false.
    public func sleep(timeoutNanos: Int64, isIdle: () -> Bool) {
        lock.withLock {
            sleeping.store(true, ordering: .sequentiallyConsistent)
            if isIdle() { lock.wait(timeoutNanos: timeoutNanos) }
            sleeping.store(false, ordering: .relaxed)
        }
    }
}
