import Glibc

/// What a ring's consumer does when it finds nothing: yield for a few microseconds (new data
/// usually follows closely), then sleep on the doorbell until a producer rings it.
struct IdleBackoff {
    private var since: Int64 = 0
    /// Long enough to keep a tick's wake-up off the path when ticks follow closely (one firehose
    /// client's p99 at 50,000 ticks/s is as with 50 µs), short enough that a paced feed lets the
    /// thread sleep between ticks (docs/performance.md, "A quieter daemon").
    static let spinNanos: Int64 = 20_000

    mutating func reset() { since = 0 }

    mutating func pause(now: Int64, doorbell: Doorbell, wakeAfterNanos: Int64, isIdle: () -> Bool) {
        if since == 0 { since = now }
        if now - since < Self.spinNanos {
            sched_yield()
        } else {
            doorbell.sleep(timeoutNanos: wakeAfterNanos, isIdle: isIdle)
        }
    }
}
