import Atomics

/// Lets the consumer of a ring sleep when there is nothing to do, and lets producers wake it
/// without a system call in the common case (the consumer awake): ringing costs one atomic load
/// unless the consumer is actually asleep.
///
/// Protocol: the sleeper calls `sleep(timeoutNanos:isIdle:)`, which re-checks `isIdle` after
/// announcing that it sleeps; producers publish their data first, then `ring()`. Either the
/// sleeper sees the data in its re-check, or the producer sees it asleep and signals.
///
/// A consumer that tolerates some delay (the store writer) dozes instead: only `ringUrgently`
/// (a ring filling up, the lane closing) wakes it before its timeout, so a steady feed does not
/// cost it a wake-up per tick.
public final class Doorbell: @unchecked Sendable {
    private let sleeping = ManagedAtomic<Bool>(false)
    private let dozing = ManagedAtomic<Bool>(false)
    private let lock = ConditionLock()

    public init() {}

    /// Producer side, after publishing: wakes a sleeping consumer, not a dozing one.
    @inline(__always)
    public func ring() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        lock.withLock { lock.signal() }
    }

    /// Producer side: wakes the consumer whether it sleeps or dozes.
    public func ringUrgently() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard sleeping.load(ordering: .sequentiallyConsistent) || dozing.load(ordering: .sequentiallyConsistent) else { return }
        lock.withLock { lock.signal() }
    }

    /// Consumer side: sleeps until rung or `timeoutNanos` pass, unless `isIdle` turns out false.
    /// `dozing`: only an urgent ring wakes it early.
    public func sleep(timeoutNanos: Int64, dozing doze: Bool = false, isIdle: () -> Bool) {
        let flag = doze ? dozing : sleeping
        lock.withLock {
            flag.store(true, ordering: .sequentiallyConsistent)
            if isIdle() { lock.wait(timeoutNanos: timeoutNanos) }
            flag.store(false, ordering: .relaxed)
        }
    }
}
