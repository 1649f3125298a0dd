import Glibc

/// What a ring's consumer does when it finds nothing: yield for a few microseconds (new data
/// usually follows closely), then sleep on the doorbell until a producer rings it.
struct IdleBackoff {
    private var since: Int64 = 0
    static let spinNanos: Int64 = 50_000

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
