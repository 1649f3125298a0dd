/// Lets at most `limit` log lines through per window, and counts the ones it holds back so the
/// next line that passes can say how many were suppressed. A pure value; the caller gives the time.
public struct LogRateLimiter: Sendable {
    public let limit: Int
    public let windowNanos: Int64
    private var windowStart = Int64.min
    private var used = 0
    private var suppressed: UInt64 = 0

    public init(limit: Int = 5, windowNanos: Int64 = 10_000_000_000) {
        self.limit = limit
        self.windowNanos = windowNanos
    }

    /// `nil` when the line must be dropped; otherwise how many lines were suppressed before it.
    public mutating func admit(now: Int64) -> UInt64? {
        if windowStart == .min || now - windowStart >= windowNanos {
            windowStart = now
            used = 0
        }
        guard used < limit else {
            suppressed += 1
            return nil
        }
        used += 1
        defer { suppressed = 0 }
        return suppressed
    }

    /// `message`, with a note of suppressed lines, when it may be logged now.
    public mutating func line(_ message: @autoclosure () -> String, now: Int64) -> String? {
        guard let held = admit(now: now) else { return nil }
        return held == 0 ? message() : "\(message()) (\(held) similar lines suppressed)"
    }
}
