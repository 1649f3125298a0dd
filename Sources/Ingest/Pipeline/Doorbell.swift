import CFutex

/// Lets the consumer of a ring sleep when there is nothing to do, and lets producers wake it
/// without a system call in the common case (the consumer awake): ringing costs one atomic load
/// unless the consumer is actually asleep, and then one futex(2) wake.
///
/// Protocol: the sleeper calls `sleep(timeoutNanos:isIdle:)`, which re-checks `isIdle` after
/// announcing that it sleeps; producers publish their data first, then `ring()`. Either the
/// sleeper sees the data in its re-check, or the producer sees it asleep and wakes it (a wake
/// that comes between the re-check and the wait makes the wait return at once: the futex word
/// no longer says "asleep").
///
/// A consumer that tolerates some delay (the store writer) dozes instead: only `ringUrgently`
/// (a ring filling up, the lane closing) wakes it before its timeout, so a steady feed does not
/// cost it a wake-up per tick.
public final class Doorbell: @unchecked Sendable {
    private static let awake: UInt32 = 0, asleep: UInt32 = 1, dozing: UInt32 = 2
    /// The futex word: awake, asleep or dozing.
    private let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    public init() { word.initialize(to: Self.awake) }

    deinit { word.deallocate() }

    /// Producer side, after publishing: wakes a sleeping consumer, not a dozing one.
    @inline(__always)
    public func ring() {
        akis_fence()
        guard akis_word_load(word) == Self.asleep else { return }
        if akis_word_exchange(word, Self.awake) != Self.awake { akis_futex_wake(word, 1) }
    }

    /// Producer side: wakes the consumer whether it sleeps or dozes.
    public func ringUrgently() {
        akis_fence()
        guard akis_word_load(word) != Self.awake else { return }
        if akis_word_exchange(word, Self.awake) != Self.awake { akis_futex_wake(word, 1) }
    }

    /// Consumer side: sleeps until rung or `timeoutNanos` pass, unless `isIdle` turns out false.
    /// `dozing`: only an urgent ring wakes it early.
    public func sleep(timeoutNanos: Int64, dozing doze: Bool = false, isIdle: () -> Bool) {
        let state = doze ? Self.dozing : Self.asleep
        akis_word_store(word, state)
        akis_fence()
        if isIdle() { akis_futex_wait(word, state, timeoutNanos) }
        akis_word_store(word, Self.awake)
    }
}
