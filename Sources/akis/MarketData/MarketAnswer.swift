import Daemon
import Hummingbird
import Ingest
import PostgresNIO
import Store

/// How the market API's handlers answer: the query string handed to `body` with the wall-clock
/// time, its JSON as 200, and every failure as JSON with the status it deserves. Bad input is a 400
/// (404 for an unknown symbol) whose body names the parameter; no database, or one that is down,
/// a 503.
enum MarketAnswer {
    static func answer(_ request: Request, access: MarketAccess?, _ body: ([(String, String)], Int64) async throws -> String) async throws -> Response {
        let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        do {
            try await access?.check(request)
            return json(.ok, try await body(parameters, Clock.wallNanos()))
        } catch let error as Unauthorized {
            var response = json(.unauthorized, MarketJSON.error(error.message))
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
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

    /// A 503 with `message`.
    struct Unavailable: Error { let message: String }

    /// A 401 with `message` (no token, or a refused one).
    struct Unauthorized: Error { let message: String }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
