import Glibc

/// How a producer waits for room in a full ring: a few yields (the consumer is usually about to
/// drain), then short sleeps, so that a long wait (the database is slower than the feed) leaves
/// the CPU to the threads and processes that are doing the work.
public struct FullRingWait {
    private var rounds = 0

    public init() {}

    public mutating func pause() {
        rounds += 1
        if rounds <= 16 { sched_yield() } else { usleep(50) }
    }
}
