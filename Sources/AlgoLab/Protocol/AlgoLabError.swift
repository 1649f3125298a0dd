/// What can go wrong talking to AlgoLab, typed so that callers (the session keeper, the orders
/// module's retry and circuit breaker) can act on each case. AlgoLab's own messages are Turkish
/// text, kept verbatim for the user.
public enum AlgoLabError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bad settings or a bad API key (never repeats a secret).
    case configuration(String)
    /// HTTP 429: more than one request a second. Retry later.
    case rateLimited
    /// HTTP 5xx: AlgoLab's side failed; the request may or may not have taken effect.
    case server(status: Int, message: String)
    /// HTTP 401/403, or a reply that says the session is gone: log in again (`akis algolab login`).
    case sessionExpired(String)
    /// AlgoLab answered `success: false`; its message verbatim (a wrong SMS code, an order refused).
    case refused(String)
    /// No session yet: nobody has run `akis algolab login`.
    case noSession
    /// A reply that is not what AlgoLab's protocol says.
    case badReply(String)
    /// The connection failed or timed out.
    case transport(String)

    public var description: String {
        switch self {
        case .configuration(let m): "AlgoLab configuration: \(m)"
        case .rateLimited: "AlgoLab: too many requests (429); at most one a second"
        case .server(let status, let m): "AlgoLab: server error \(status)" + (m.isEmpty ? "" : ": \(m)")
        case .sessionExpired(let m): "AlgoLab: the session has expired or was refused (\(m)); run `akis algolab login`"
        case .refused(let m): "AlgoLab refused: \(m)"
        case .noSession: "AlgoLab: no session; run `akis algolab login`"
        case .badReply(let m): "AlgoLab: unexpected reply: \(m)"
        case .transport(let m): "AlgoLab: \(m)"
        }
    }

    /// Whether trying the same request again later may succeed.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .server, .transport: true
        default: false
        }
    }
}
