/// When to try a dropped TCP feed again: exponential backoff with "equal jitter" (half the delay
/// fixed, half random), so that many daemons cut off at once do not reconnect in lockstep.
/// A pure value: the caller supplies the randomness and remembers the attempts.
public struct ReconnectBackoff: Sendable, Equatable {
    public var initialNanos: Int64
    public var maximumNanos: Int64
    /// Consecutive failed attempts since the last connection that delivered data.
    public private(set) var failures = 0

    public init(initialNanos: Int64, maximumNanos: Int64) {
        precondition(initialNanos > 0 && maximumNanos >= initialNanos)
        self.initialNanos = initialNanos
        self.maximumNanos = maximumNanos
    }

    /// The delay before the next attempt; `unit` is a random number in [0, 1).
    public mutating func nextDelay(unit: Double) -> Int64 {
        let shift = min(failures, 40)
        let ceiling = initialNanos.multipliedReportingOverflow(by: Int64(1) << shift)
        let full = ceiling.overflow ? maximumNanos : min(maximumNanos, ceiling.partialValue)
        failures += 1
        return full / 2 + Int64(Double(full / 2) * min(max(unit, 0), 1))
    }

    /// A connection delivered data: the next drop starts again from the initial delay.
    public mutating func reset() { failures = 0 }
}
