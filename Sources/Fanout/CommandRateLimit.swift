/// How many commands one WebSocket client may send: a token bucket of `burst` commands refilled at
/// `perSecond`. Each command costs the fan-out thread a snapshot, so one client flooding commands
/// would delay the ticks of all the others; past the limit a command is refused with an `ERROR`.
/// Pure: the caller passes the time.
public struct CommandRateLimit: Sendable {
    public let perSecond: Int
    public let burst: Int
    private var tokens: Double
    private var lastNanos: Int64?

    /// The daemon's limit: 100 at once, 50 a second sustained.
    public static let standard = CommandRateLimit(perSecond: 50, burst: 100)

    public init(perSecond: Int, burst: Int) {
        precondition(perSecond >= 0 && burst > 0)
        self.perSecond = perSecond
        self.burst = burst
        tokens = Double(burst)
    }

    /// True if a command may be applied at `nanos` (a monotonic clock), taking one token.
    public mutating func allow(at nanos: Int64) -> Bool {
        if let lastNanos {
            tokens = min(Double(burst), tokens + Double(nanos - lastNanos) * Double(perSecond) / 1e9)
        }
        lastNanos = nanos
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// The `ERROR` text for a refused command.
    var refusal: String { "too many messages: at most \(burst) at once and \(perSecond) a second; this one was ignored" }
}
