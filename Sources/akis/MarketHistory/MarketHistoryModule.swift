import Daemon
import Hummingbird
import Ingest
import Store

/// The market history API, as a module of the daemon: `GET /api/market/ticks` and
/// `GET /api/market/candles`, thin handlers that validate the query string with
/// `MarketQueryParser`, read with `MarketHistory` through the daemon's database pool
/// (`Database.query`: at once a 503 while the database is down), and answer JSON (`MarketJSON`).
/// It reads the market module's tables and has no schema, services or threads of its own.
struct MarketHistoryModule: DaemonModule {
    static let name = "history"

    private let parser: MarketQueryParser
    private let database: Database?
    private let access: MarketAccess?

    init(context: ModuleContext) throws {
        parser = MarketQueryParser(symbols: try context.shared.take(SymbolUniverse.self, for: Self.name))
        database = context.database
        access = try MarketAccess.of(context, for: Self.name)
    }

    func addRoutes(to router: Router<DaemonRequestContext>) {
        router.get("/api/market/ticks") { request, _ in
            try await MarketAnswer.answer(request, access: access) { parameters, now in
                let query = try parser.ticks(parameters, now: now)
                return MarketJSON.ticks(query, try await read { try await $0.ticks(query) })
            }
        }
        router.get("/api/market/candles") { request, _ in
            try await MarketAnswer.answer(request, access: access) { parameters, now in
                let query = try parser.candles(parameters, now: now)
                return MarketJSON.candles(query, try await read { try await $0.candles(query) })
            }
        }
    }

    func serving(at httpAddress: String) -> [String] {
        ["http: history at http://\(httpAddress)/api/market/ticks and /api/market/candles"]
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (MarketHistory) async throws -> T) async throws -> T {
        guard let database else {
            throw MarketAnswer.Unavailable(message: "no database is configured: this daemon does not store history")
        }
        return try await database.query { try await body(MarketHistory(client: $0)) }
    }
}
