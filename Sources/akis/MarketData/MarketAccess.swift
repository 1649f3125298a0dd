import Auth
import Daemon
import Fanout
import Foundation
import Hummingbird

/// The market data behind auth (`[auth] required`): `/api/market/*` needs `Authorization: Bearer`,
/// and `/ws/market-data` a token at the upgrade or in its first message; both are checked by the
/// auth module's one verifier, and the subscription level sets the socket's limits.
struct MarketAccess: MarketDataGate {
    let tokens: AccessTokens
    let levels: [String: AuthSettings.Limits]

    /// The access rules of this configuration: nil when the market data is open.
    static func of(_ context: ModuleContext, for module: String) throws -> MarketAccess? {
        let auth = context.configuration.settings(AuthSettings.self)
        guard auth.enabled && auth.required else { return nil }
        return MarketAccess(tokens: try context.shared.take(AccessTokens.self, for: module), levels: auth.levels)
    }

    func admit(token: String) async -> Result<MarketDataPrincipal, MarketDataRefusal> {
        do {
            let user = try await tokens.verify(token)
            let limits = levels[user.level] ?? levels["basic"]!
            return .success(MarketDataPrincipal(user: user.id.uuidString.lowercased(), level: user.level, symbolLimit: limits.symbolsPerConnection,
                                                connectionLimit: limits.connectionsPerUser,
                                                expiresNanos: Int64(user.expires.timeIntervalSince1970) * 1_000_000_000))
        } catch {
            return .failure(MarketDataRefusal(error.description))
        }
    }

    /// Throws a 401 unless the request carries a valid bearer token.
    func check(_ request: Request) async throws {
        if case .failure(let refusal) = await tokens.verify(authorization: request.headers[.authorization]) {
            throw MarketAnswer.Unauthorized(message: refusal.message)
        }
    }
}
