import Aggregator
@testable import Auth
import Events
import Foundation
import Ingest
import Logging
@testable import Orders
import PostgresNIO
import Store
import TestSupport
import Testing

/// A scratch database with the events, auth and orders schemas, a pool on it, and an
/// `OrderService` over it with a fixed market (GARAN closed at 100.00 yesterday; THYAO at 300) and
/// a clock in Monday 7 December 2026's continuous session.
struct TradingDatabase {
    static let noon: Int64 = 1_796_634_000 * 1_000_000_000  // 2026-12-07 12:00 Istanbul (09:00 UTC)

    struct FixedMarket: MarketView {
        let quotes: [String: MarketQuote]
        func quote(for symbol: String) -> MarketQuote? { quotes[symbol] }
    }

    static let market = FixedMarket(quotes: ["GARAN": MarketQuote(previousClose: Price("100")!), "THYAO": MarketQuote(previousClose: Price("300")!)])

    let url: String
    let client: PostgresClient
    let service: OrderService

    /// Runs `body` with a fresh database; `settings` over the defaults.
    static func with(settings: OrdersSettings = OrdersSettings(), clock: @escaping @Sendable () -> Int64 = { noon },
                     _ body: (TradingDatabase) async throws -> Void) async throws {
        try await withScratchDatabase { url in
            _ = try await offThePool {
                try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations),
                                                             .init(module: "auth", migrations: AuthModule.migrations),
                                                             .init(module: "orders", migrations: OrdersSchema.migrations)])
                    .run(on: LibpqConnection(conninfo: url))
            }
            try await withPool(url) { client in
                let service = OrderService(client: client, events: EventStore(), settings: settings, calendar: SessionCalendar(), market: market,
                                           broker: PaperBroker(), clock: clock, logger: Logger(label: "orders-test"))
                try await body(TradingDatabase(url: url, client: client, service: service))
            }
        }
    }

    /// A user (level basic) as registration leaves one; returns its id.
    func user(_ name: String, level: String = "basic") async throws -> UUID {
        let id = UUID()
        try await client.query("""
            INSERT INTO auth_users (id, email, email_key, username, username_key, password_hash, level)
            VALUES (\(id), \(name + "@example.com"), \(name + "@example.com"), \(name), \(name), 'x', \(level))
            """, logger: Logger(label: "orders-test"))
        return id
    }

    /// A holding put in place by hand (until fills make them).
    func hold(_ shares: Int64, of symbol: String, user: UUID, basis: Money) async throws {
        try await client.query("""
            INSERT INTO trading_positions (user_id, symbol, shares, cost_basis) VALUES (\(user), \(symbol), \(shares), \(basis.kurus))
            """, logger: Logger(label: "orders-test"))
    }

    func integers(_ sql: String) async throws -> [Int64] {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "orders-test"))
        var out: [Int64] = []
        for try await value in rows.decode(Int64?.self) { out.append(value ?? 0) }
        return out
    }

    func strings(_ sql: String) async throws -> [String] {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "orders-test"))
        var out: [String] = []
        for try await value in rows.decode(String?.self) { out.append(value ?? "null") }
        return out
    }

    /// The invariants every test ends with: each account's reservation is what its working buys
    /// hold, each position's what its working sells hold; buying power and free shares are never
    /// negative; the ledger's journals balance and its cash entries sum to the balances.
    func expectBooksBalance(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let working = OrdersSchema.workingStatuses
        let reserved = try await integers("""
            SELECT count(*) FROM trading_accounts a WHERE a.reserved <> coalesce((SELECT sum(reserved_cash) FROM trading_orders o
                WHERE o.user_id = a.user_id AND o.status IN \(working)), 0) OR a.cash < a.reserved
            """)
        #expect(reserved == [0], "accounts whose reservation is not their working buys'", sourceLocation: sourceLocation)
        let held = try await integers("""
            SELECT count(*) FROM trading_positions p WHERE p.reserved_shares <> coalesce((SELECT sum(reserved_shares) FROM trading_orders o
                WHERE o.user_id = p.user_id AND o.symbol = p.symbol AND o.status IN \(working)), 0) OR p.reserved_shares > p.shares
            """)
        #expect(held == [0], "positions whose reserved shares are not their working sells'", sourceLocation: sourceLocation)
        let ended = try await integers("SELECT count(*) FROM trading_orders WHERE status NOT IN \(working) AND (reserved_cash <> 0 OR reserved_shares <> 0)")
        #expect(ended == [0], "ended orders still holding a reservation", sourceLocation: sourceLocation)
        let journals = try await integers("SELECT count(*) FROM (SELECT journal FROM trading_ledger GROUP BY journal HAVING sum(amount) <> 0) j")
        #expect(journals == [0], "journals that do not balance", sourceLocation: sourceLocation)
        let balances = try await integers("""
            SELECT count(*) FROM trading_accounts a WHERE
                a.cash <> coalesce((SELECT sum(amount) FROM trading_ledger l WHERE l.user_id = a.user_id AND l.account IN ('cash_settled', 'cash_pending')), 0)
                OR a.settled_cash <> coalesce((SELECT sum(amount) FROM trading_ledger l WHERE l.user_id = a.user_id AND l.account = 'cash_settled'), 0)
            """)
        #expect(balances == [0], "accounts whose balances are not their ledger's sums", sourceLocation: sourceLocation)
    }
}
