import Aggregator
import Fanout
import Hummingbird
import Ingest
import PostgresNIO
import Daemon
import Store

/// `GET /api/market/ticks` and `GET /api/market/candles`: thin handlers that validate the query
/// string with `MarketQueryParser`, read with `MarketHistory` through the daemon's database pool,
/// and answer JSON (`MarketJSON`). Bad input is a 400 (404 for an unknown symbol) whose body names
/// the parameter; no database, or one that is down, is a 503. `GET /api/market/latest` answers from memory.
struct MarketRoutes: Sendable {
    let parser: MarketQueryParser
    /// Nil without a database.
    let database: Database?
    let latest: LatestPrices
    let calendar: SessionCalendar

    func register(on router: Router<DaemonRequestContext>) {
        router.get("/api/market/latest") { request, _ in
            try await answer(request) { parameters, _ in
                let snapshot = latest.snapshot(try parser.latest(parameters))
                return MarketMessage.latest(snapshot, names: parser.symbols.allNames, calendar: calendar)
            }
        }
        router.get("/api/market/ticks") { request, _ in
            try await answer(request) { parameters, now in
                let query = try parser.ticks(parameters, now: now)
                let rows = try await read { try await $0.ticks(query) }
                return MarketJSON.ticks(query, rows)
            }
        }
        router.get("/api/market/candles") { request, _ in
            try await answer(request) { parameters, now in
                let query = try parser.candles(parameters, now: now)
                let rows = try await read { try await $0.candles(query) }
                return MarketJSON.candles(query, rows)
            }
        }
    }

    private func answer(_ request: Request, _ body: ([(String, String)], Int64) async throws -> String) async throws -> Response {
        let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        do {
            return json(.ok, try await body(parameters, Clock.wallNanos()))
        } catch let error as QueryError {
            return json(HTTPResponse.Status(code: error.status), MarketJSON.error(error.message))
        } catch let error as Unavailable {
            return json(.serviceUnavailable, MarketJSON.error(error.message))
        } catch let error as DatabaseUnavailable {
            return json(.serviceUnavailable, MarketJSON.error("history is unavailable: \(error)"))
        } catch let error as PSQLError {
            // The server's message, or what failed; never the connection's details.
            return json(.serviceUnavailable, MarketJSON.error("history is unavailable: \(error.serverInfo?[.message] ?? "\(error.code)")"))
        } catch {
            return json(.serviceUnavailable, MarketJSON.error("history is unavailable: \(error)"))
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (MarketHistory) async throws -> T) async throws -> T {
        guard let database else { throw Unavailable(message: "no database is configured: this daemon does not store history") }
        return try await database.query { try await body(MarketHistory(client: $0)) }
    }

    private func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private struct Unavailable: Error { let message: String }
}
