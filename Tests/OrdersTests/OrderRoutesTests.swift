import Atomics
@testable import Auth
import Daemon
import Foundation
import Hummingbird
import Ingest
import Logging
@testable import Orders
import TestSupport
import Testing

/// The orders API over real HTTP with real tokens, on a real PostgreSQL.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OrderRoutesTests {
    static let secret = Array("orders-test-secret-of-thirty-two-bytes-or-more".utf8)

    struct Server {
        let address: String
        let tokens: AccessTokens
        let db: TradingDatabase

        func token(for user: UUID, level: String = "basic") async throws -> String {
            try await tokens.issue(id: user, username: "u", roles: ["user"], level: level).token
        }

        func call(_ method: String, _ path: String, token: String?, body: String? = nil, contentType: String = "application/json")
            async throws -> (status: Int, headers: [String: String], body: String) {
            var headers: [(String, String)] = token.map { [("Authorization", "Bearer \($0)")] } ?? []
            if body != nil { headers.append(("Content-Type", contentType)) }
            return try await httpRequest(address, method, path, headers: headers, body: Array((body ?? "").utf8))
        }
    }

    /// `limiter`: the per-user limit (default: none to speak of).
    static func withServer(limiter: RateLimiter = RateLimiter(burst: 100_000, perSecond: 100_000), _ body: (Server) async throws -> Void) async throws {
        try await TradingDatabase.with { db in
            let tokens = try AccessTokens(keys: [("k1", .hs256, .secret(secret))], signingKid: "k1", issuer: "akis", audience: "akis", lifetime: 900)
            let router = Router(context: DaemonRequestContext.self)
            OrderRoutes(service: db.service, tokens: tokens, limiter: limiter,
                        logger: Logger(label: "orders-test")).add(to: router)
            let bound = ManagedAtomic<Int>(0)
            var quiet = Logger(label: "orders-test")
            quiet.logLevel = .critical
            let app = Application(router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { bound.store($0.localAddress?.port ?? -1, ordering: .releasing) }, logger: quiet)
            let server = Task { try await app.runService(gracefulShutdownSignals: []) }
            defer { server.cancel() }
            try await waitUntil("the server to listen") { bound.load(ordering: .acquiring) != 0 }
            try await body(Server(address: "127.0.0.1:\(bound.load(ordering: .acquiring))", tokens: tokens, db: db))
        }
    }

    static let order = #"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":10,"price":"99.50","clientOrderId":"c-1"}"#

    @Test func anOrderIsPlacedReadAndCancelledByItsOwnerOnly() async throws {
        try await Self.withServer { server in
            let owner = try await server.db.user("owner"), other = try await server.db.user("other")
            try await server.db.service.accounts.deposit(Money("10000")!, to: owner)
            let token = try await server.token(for: owner)
            let placed = try await server.call("POST", "/api/trading/orders", token: token, body: Self.order)
            #expect(placed.status == 201)
            let order = try #require(try JSONSerialization.jsonObject(with: Data(placed.body.utf8)) as? [String: Any])["order"] as? [String: Any]
            let id = try #require(order?["id"] as? String)
            #expect(order?["status"] as? String == "SUBMITTED" && order?["price"] as? Double == 99.5 && order?["reservedCash"] as? String == "996.08")
            #expect(placed.body.contains(#""price":99.5,"#))  // exact text, not a float's
            let retried = try await server.call("POST", "/api/trading/orders", token: token, body: Self.order)
            #expect(retried.status == 200 && retried.body.contains(id))
            #expect(try await server.call("GET", "/api/trading/orders/\(id)", token: token).status == 200)
            let stranger = try await server.token(for: other)
            let hidden = try await server.call("GET", "/api/trading/orders/\(id)", token: stranger)
            #expect(hidden.status == 404 && hidden.body.contains(#""error":"not_found""#))
            #expect(try await server.call("DELETE", "/api/trading/orders/\(id)", token: stranger).status == 404)
            let cancelled = try await server.call("DELETE", "/api/trading/orders/\(id)", token: token)
            #expect(cancelled.status == 200 && cancelled.body.contains(#""status":"CANCELLED""#))
            #expect(try await server.call("DELETE", "/api/trading/orders/\(id)", token: token).status == 409)
            #expect(try await server.call("GET", "/api/trading/orders/not-a-uuid", token: token).status == 404)
            try await server.db.expectBooksBalance()
        }
    }

    static func json(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func theReadRoutesPageTheOwnersOrdersFillsCashAndPortfolio() async throws {
        try await Self.withServer { server in
            let user = try await server.db.user("reader"), other = try await server.db.user("nosy")
            try await server.db.service.accounts.deposit(Money("100000")!, to: user)
            let token = try await server.token(for: user)
            var ids: [String] = []
            for price in ["98", "99", "99.50"] {
                let body = #"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":10,"price":"\#(price)"}"#
                ids.append(try #require(try Self.json(try await server.call("POST", "/api/trading/orders", token: token, body: body).body)["order"] as? [String: Any])["id"] as! String)
            }
            let filled = try #require(UUID(uuidString: ids[2]))
            _ = try await server.db.service.apply(Execution(id: "E-1", quantity: 10, price: Price("99.50")!, time: TradingDatabase.noon), to: filled)

            // Newest first, two to a page, every order once (the test's clock stands still: equal times go by id).
            let first = try Self.json(try await server.call("GET", "/api/trading/orders?limit=2", token: token).body)
            let next = try #require(first["next"] as? String)
            let second = try Self.json(try await server.call("GET", "/api/trading/orders?limit=2&after=\(next)", token: token).body)
            let listed = ((first["orders"] as? [[String: Any]]) ?? []) + ((second["orders"] as? [[String: Any]]) ?? [])
            #expect(listed.compactMap { $0["id"] as? String } == ids.sorted(by: >) && second["next"] is NSNull)
            let onlyFilled = try Self.json(try await server.call("GET", "/api/trading/orders?status=FILLED", token: token).body)
            #expect((onlyFilled["orders"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2]])
            for bad in ["status=DONE", "colour=red", "limit=0", "limit=501", "after=x", "from=yesterday", "symbol=a%20b", "limit=1&limit=2"] {
                let answer = try await server.call("GET", "/api/trading/orders?\(bad)", token: token)
                #expect(answer.status == 400 && answer.body.contains(#""error":"invalid_value""#), "\(bad): \(answer)")
            }

            let order = try Self.json(try await server.call("GET", "/api/trading/orders/\(ids[2])", token: token).body)
            let fills = try #require(order["executions"] as? [[String: Any]])
            #expect(fills.count == 1 && fills[0]["executionId"] as? String == "E-1" && fills[0]["value"] as? String == "995"
                    && fills[0]["valueDate"] as? String == "2026-12-09" && fills[0]["settled"] as? Bool == false)
            let executions = try Self.json(try await server.call("GET", "/api/trading/executions?symbol=GARAN", token: token).body)
            #expect(executions["count"] as? Int == 1)
            let transactions = try Self.json(try await server.call("GET", "/api/trading/transactions", token: token).body)
            let kinds = (transactions["transactions"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }
            #expect(kinds == ["exchange_fee", "bsmv", "commission", "trade", "deposit"], "\(transactions)")

            // 995 + 0.995 → 1.00 commission + 0.05 BSMV + 0.03 fee: 996.08 for 10 shares; at 100 (the latest price) +3.92.
            let portfolio = try Self.json(try await server.call("GET", "/api/trading/portfolio", token: token).body)
            let positions = try #require(portfolio["positions"] as? [[String: Any]])
            #expect(positions.count == 1 && positions[0]["shares"] as? Int == 10 && positions[0]["costBasis"] as? String == "996.08"
                    && positions[0]["unrealisedPnl"] as? String == "3.92" && positions[0]["averageCost"] as? Double == 99.608)
            #expect(portfolio["cash"] as? String == "99003.92" && portfolio["equity"] as? String == "100003.92", "\(portfolio)")

            let stranger = try await server.token(for: other)
            #expect(try Self.json(try await server.call("GET", "/api/trading/orders", token: stranger).body)["count"] as? Int == 0)
            #expect(try await server.call("GET", "/api/trading/portfolio", token: stranger).status == 403)
            #expect(try Self.json(try await server.call("GET", "/api/trading/executions", token: stranger).body)["count"] as? Int == 0)
        }
    }

    @Test func forgedExpiredAndMissingTokensAre401() async throws {
        try await Self.withServer { server in
            let user = try await server.db.user("u1")
            try await server.db.service.accounts.deposit(Money("10000")!, to: user)
            let forger = try AccessTokens(keys: [("k1", .hs256, .secret(Array("not-the-servers-secret-but-long-enough-yes".utf8)))], signingKid: "k1",
                                          issuer: "akis", audience: "akis", lifetime: 900)
            let forged = try await forger.issue(id: user, username: "u", roles: ["user"], level: "basic").token
            let expired = try await server.tokens.issue(id: user, username: "u", roles: ["user"], level: "basic", now: Date().addingTimeInterval(-1000)).token
            for token in [forged, expired, nil, "garbage"] {
                let answer = try await server.call("POST", "/api/trading/orders", token: token, body: Self.order)
                #expect(answer.status == 401 && answer.body.contains(#""error":"unauthorized""#))
            }
            #expect(try await server.db.integers("SELECT count(*) FROM trading_orders") == [0])
        }
    }

    /// Each hostile body answers its own 4xx and stores nothing.
    @Test func hostileBodiesAreRefusedOverHTTPAndStoreNothing() async throws {
        try await Self.withServer { server in
            let user = try await server.db.user("h")
            try await server.db.service.accounts.deposit(Money("10000")!, to: user)
            let token = try await server.token(for: user)
            let cases: [(String, Int, String)] = [
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":-5,"price":99}"#, 400, "quantity_not_positive"),
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":99999999999999999999,"price":99}"#, 400, "quantity_above_maximum"),
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1.5,"price":99}"#, 400, "quantity_not_whole"),
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":99.1234567}"#, 400, "price_too_precise"),
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":9.9e1}"#, 400, "invalid_number"),
                (#"{"symbol":"NOPE","side":"BUY","orderType":"LIMIT","quantity":1,"price":99}"#, 400, "unknown_symbol"),
                (#"{"symbol":"GARAN","side":1,"orderType":"LIMIT","quantity":1,"price":99}"#, 400, "invalid_type"),
                (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":99,"#, 400, "malformed_body"),
                ("{" + String(repeating: " ", count: 5000) + "}", 413, "body_too_large"),
            ]
            for (body, status, code) in cases {
                let answer = try await server.call("POST", "/api/trading/orders", token: token, body: body)
                #expect(answer.status == status && answer.body.contains(#""error":"\#(code)""#), "\(body.prefix(80)): \(answer.status) \(answer.body)")
            }
            let text = try await server.call("POST", "/api/trading/orders", token: token, body: Self.order, contentType: "text/plain")
            #expect(text.status == 400 && text.body.contains("Content-Type"))
            #expect(try await server.db.integers("SELECT count(*) FROM trading_orders") == [0])
            #expect(try await server.db.integers("SELECT count(*) FROM event_store WHERE event_type LIKE 'Order%'") == [0])
        }
    }

    @Test func aUserSendingTooFastGets429WithRetryAfter() async throws {
        // Two at once, then one every 100 s: the third is refused however slowly the machine runs.
        try await Self.withServer(limiter: RateLimiter(burst: 2, perSecond: 0.01)) { server in
            let user = try await server.db.user("fast")
            try await server.db.service.accounts.deposit(Money("100000")!, to: user)
            let token = try await server.token(for: user)
            var statuses: [Int] = []
            var retryAfter: String?
            for i in 0..<4 {
                let body = Self.order.replacingOccurrences(of: "c-1", with: "c-\(i)")
                let answer = try await server.call("POST", "/api/trading/orders", token: token, body: body)
                statuses.append(answer.status)
                if answer.status == 429 { retryAfter = answer.headers["retry-after"] }
            }
            #expect(statuses == [201, 201, 429, 429])
            #expect(retryAfter.flatMap { Int($0) }.map { (90...100).contains($0) } == true, "\(retryAfter ?? "none")")
        }
    }
}
