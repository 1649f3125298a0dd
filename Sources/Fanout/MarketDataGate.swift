import Synchronization

/// Who may use `/ws/market-data`, and how much. With a gate, a client authenticates before it
/// gets anything: with `Authorization: Bearer` on the upgrade request, or (browsers cannot set
/// headers) with `{"type":"AUTH","token":"…"}` as its first message within `authenticationWindow`.
/// The auth module's token verifier is the daemon's gate.
public protocol MarketDataGate: Sendable {
    /// The user a token stands for and their limits, or a sentence saying why not.
    func admit(token: String) async -> Result<MarketDataPrincipal, MarketDataRefusal>
}

/// An authenticated client of the socket.
public struct MarketDataPrincipal: Sendable, Equatable {
    public let user: String
    /// The subscription level, named in the reply to `AUTH`.
    public let level: String
    /// Symbols one connection may be subscribed to at once.
    public let symbolLimit: Int
    /// Connections one user may hold at once.
    public let connectionLimit: Int
    /// When the token expires (UTC ns): the connection ends then.
    public let expiresNanos: Int64

    public init(user: String, level: String, symbolLimit: Int, connectionLimit: Int, expiresNanos: Int64) {
        self.user = user
        self.level = level
        self.symbolLimit = symbolLimit
        self.connectionLimit = connectionLimit
        self.expiresNanos = expiresNanos
    }
}

/// Why a token was refused, for the client's `ERROR`.
public struct MarketDataRefusal: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// Connections held per user, for `connectionLimit`.
final class UserConnections: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Takes one connection for `user`; false when they hold `limit` already.
    func take(_ user: String, limit: Int) -> Bool {
        counts.withLock { counts in
            guard counts[user, default: 0] < limit else { return false }
            counts[user, default: 0] += 1
            return true
        }
    }

    func release(_ user: String) {
        counts.withLock { counts in
            counts[user, default: 1] -= 1
            if counts[user] == 0 { counts[user] = nil }
        }
    }
}
