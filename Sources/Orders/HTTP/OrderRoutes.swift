import Auth
import Daemon
import Events
import Foundation
import Hummingbird
import Ingest
import Logging
import Store

/// The orders API (docs/orders.md): thin handlers over `OrderService`. Every route needs a bearer
/// token; an order is its owner's only (another user's id answers 404, as an unknown one does).
struct OrderRoutes: Sendable {
    let service: OrderService
    let tokens: AccessTokens
    let limiter: RateLimiter
    let logger: Logger

    func add(to router: Router<DaemonRequestContext>) {
        router.post("/api/trading/orders") { request, _ in
            await answer(request, limited: true) { user in
                let body = try await Self.body(request)
                let placed = try await service.place(try OrderRequest.parse(body), by: user.id)
                return (placed.created ? .created : .ok, .object([("order", OrderJSON.order(placed.order))]))
            }
        }
        router.get("/api/trading/orders/:id") { request, context in
            await answer(request, limited: false) { user in
                let id = try Self.orderId(context)
                guard let order = try await service.order(id, of: user.id) else { throw OrderRejection(.notFound, "no order \(id.lowercased)") }
                let fills = try await service.executions(of: user.id, order: id,
                                                         try OrderService.ListQuery([("limit", "\(OrderService.ListQuery.maximumLimit)")], allowed: []))
                return (.ok, .object([("order", OrderJSON.order(order)), ("executions", .array(fills.rows.map(OrderJSON.execution)))]))
            }
        }
        router.get("/api/trading/orders") { request, _ in
            await answer(request, limited: false) { user in
                let page = try await service.orders(of: user.id, try Self.query(request, allowed: ["status", "symbol"]))
                return (.ok, OrderJSON.page("orders", page.rows.map(OrderJSON.order), next: page.next))
            }
        }
        router.get("/api/trading/executions") { request, _ in
            await answer(request, limited: false) { user in
                let page = try await service.executions(of: user.id, try Self.query(request, allowed: ["symbol"]))
                return (.ok, OrderJSON.page("executions", page.rows.map(OrderJSON.execution), next: page.next))
            }
        }
        router.get("/api/trading/transactions") { request, _ in
            await answer(request, limited: false) { user in
                let page = try await service.transactions(of: user.id, try Self.query(request, allowed: []))
                return (.ok, OrderJSON.page("transactions", page.rows.map(OrderJSON.transaction), next: page.next))
            }
        }
        router.get("/api/trading/portfolio") { request, _ in
            await answer(request, limited: false) { user in
                guard let (balances, holdings) = try await service.portfolio(of: user.id) else {
                    throw OrderRejection(.noAccount, "the user has no trading account yet")
                }
                return (.ok, OrderJSON.portfolio(balances, holdings))
            }
        }
        router.delete("/api/trading/orders/:id") { request, context in
            await answer(request, limited: true) { user in
                let order = try await service.cancel(try Self.orderId(context), by: user.id)
                return (.ok, .object([("order", OrderJSON.order(order))]))
            }
        }
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
            throw OrderRejection(.malformedBody, "the body must be JSON (Content-Type: application/json)")
        }
        do {
            return Array(buffer: try await request.body.collect(upTo: OrderRequest.maximumBodyBytes))
        } catch {
            throw OrderRejection(.bodyTooLarge, "the body is larger than \(OrderRequest.maximumBodyBytes) bytes")
        }
    }

    static func query(_ request: Request, allowed: Set<String>) throws -> OrderService.ListQuery {
        do {
            return try OrderService.ListQuery(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, allowed: allowed)
        } catch {
            throw OrderRejection(.invalidValue, error.message)
        }
    }

    static func orderId(_ context: DaemonRequestContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw OrderRejection(.notFound, "no order \(Sanitized(context.parameters.get("id") ?? ""))")
        }
        return id
    }

    /// Authenticates, rate-limits commands per user, runs `body`, and turns a refusal into its
    /// JSON; anything else is a 503 that names no internal detail (and is logged).
    private func answer(_ request: Request, limited: Bool,
                        _ body: (AuthenticatedUser) async throws -> (HTTPResponse.Status, JSONValue)) async -> Response {
        let user: AuthenticatedUser
        switch await tokens.verify(authorization: request.headers[.authorization]) {
        case .success(let verified): user = verified
        case .failure(let refusal):
            return Self.reply(.unauthorized, .object([("error", .string("unauthorized")), ("field", .null), ("message", .string(refusal.message))]))
        }
        if limited, let wait = limiter.take(user.id.lowercased, now: Clock.monotonicNanos()) {
            var response = Self.reply(.tooManyRequests, OrderJSON.rejection(OrderRejection(.rateLimited, "too many orders from this user; try again in \(wait) s")))
            response.headers[.retryAfter] = "\(wait)"
            return response
        }
        do {
            let (status, value) = try await body(user)
            return Self.reply(status, value)
        } catch let rejection as OrderRejection {
            return Self.reply(HTTPResponse.Status(code: rejection.httpStatus), OrderJSON.rejection(rejection))
        } catch {
            logger.error("orders: a request failed: \(String(reflecting: error))")
            return Self.reply(.serviceUnavailable, .object([("error", .string("unavailable")), ("field", .null),
                                                           ("message", .string("the service cannot answer now; try again later"))]))
        }
    }

    static func reply(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: value.text)))
    }
}
