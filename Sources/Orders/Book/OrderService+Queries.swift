import Foundation
import Ingest
import PostgresNIO
import Store

/// What the read routes answer: a user's orders, executions, cash ledger and portfolio.
extension OrderService {
    /// A page of rows, newest first, and the cursor of the next (nil: the last page).
    public struct Page<Row: Sendable>: Sendable {
        public var rows: [Row]
        public var next: String?
    }

    /// The filters of a list, read from the query string.
    public struct ListQuery: Sendable {
        public var statuses: [String]?
        public var symbol: String?
        public var from: Int64?
        public var to: Int64?
        public var limit: Int
        /// The last row of the previous page: its time (µs) and key.
        public var after: (micros: Int64, key: String)?

        public static let maximumLimit = 500

        /// `status` (comma-separated, the API's names), `symbol`, `from`, `to` (ISO 8601),
        /// `limit` (1-500, default 100), `after` (a page's `next`); `allowed` says which apply.
        public init(_ parameters: [(String, String)], allowed: Set<String>) throws(QueryError) {
            var p = try QueryParameters(parameters, allowed: allowed.union(["from", "to", "limit", "after"]))
            if let text = p.take("status") {
                var raw: [String] = []
                for name in text.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let status = OrderStatus.allCases.first(where: { $0.apiName == name || $0.rawValue == name }) else {
                        throw QueryError("status \(Sanitized(String(name))) is not one of \(OrderStatus.allCases.map(\.apiName).joined(separator: ", "))")
                    }
                    raw.append(status.rawValue)
                }
                statuses = raw
            }
            if let text = p.take("symbol") {
                guard SymbolTable.isValid(text) else { throw QueryError("symbol \(Sanitized(text)) is not a symbol") }
                symbol = text
            }
            from = try p.take("from").map { (t: String) throws(QueryError) in try QueryParameters.time("from", t) }
            to = try p.take("to").map { (t: String) throws(QueryError) in try QueryParameters.time("to", t) }
            if let from, let to, from >= to { throw QueryError("from must be before to") }
            limit = try p.limit(1...Self.maximumLimit, standard: 100)
            if let text = p.take("after") {
                let parts = text.split(separator: "~", maxSplits: 1)
                guard parts.count == 2, let micros = Int64(parts[0]), !parts[1].isEmpty, parts[1].utf8.count <= 80 else {
                    throw QueryError("after must be the next cursor of a previous page, not \(Sanitized(text))")
                }
                after = (micros, String(parts[1]))
            }
        }
    }

    static func cursor(micros: Int64, key: String) -> String { "\(micros)~\(key)" }

    /// `user`'s orders, newest first.
    public func orders(of user: UUID, _ q: ListQuery) async throws -> Page<OrderRecord> {
        let rows = try await client.query("""
            SELECT \(unescaped: Self.columns), (extract(epoch FROM created_at) * 1000000)::bigint FROM trading_orders
            WHERE user_id = \(user) AND (\(q.statuses)::text[] IS NULL OR status = ANY(\(q.statuses)::text[]))
              AND (\(q.symbol)::text IS NULL OR symbol = \(q.symbol)::text)
              AND (\(q.from.map { $0 / 1_000 })::bigint IS NULL OR created_at >= TIMESTAMPTZ 'epoch' + \(q.from.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.to.map { $0 / 1_000 })::bigint IS NULL OR created_at < TIMESTAMPTZ 'epoch' + \(q.to.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.after?.micros)::bigint IS NULL OR (created_at, id::text) < (TIMESTAMPTZ 'epoch' + \(q.after?.micros)::bigint * INTERVAL '1 microsecond', \(q.after?.key)::text))
            ORDER BY created_at DESC, id::text DESC LIMIT \(q.limit + 1)
            """, logger: logger)
        var orders: [OrderRecord] = []
        var times: [Int64] = []
        for try await row in rows {
            orders.append(try Self.order(in: row))
            times.append(try row.makeRandomAccess()[25].decode(Int64.self))
        }
        guard orders.count > q.limit else { return Page(rows: orders, next: nil) }
        orders.removeLast()
        return Page(rows: orders, next: Self.cursor(micros: times[q.limit - 1], key: orders[q.limit - 1].id.lowercased))
    }

    /// One execution as the API shows it.
    public struct ExecutionRow: Sendable {
        public var execution: Execution
        public var orderId: UUID
        public var symbol: String
        public var side: OrderSide
        public var value: Money
        public var costs: TradeCosts
        public var valueDate: String
        public var settled: Bool
    }

    /// `user`'s executions (of one order, or all), newest first.
    public func executions(of user: UUID, order: UUID? = nil, _ q: ListQuery) async throws -> Page<ExecutionRow> {
        let rows = try await client.query("""
            SELECT execution_id, quantity, price::text, (extract(epoch FROM executed_at) * 1000000)::bigint, order_id, symbol, side, value,
                   commission, bsmv, exchange_fee, value_date::text, settled_at IS NOT NULL
            FROM trading_executions
            WHERE user_id = \(user) AND (\(order)::uuid IS NULL OR order_id = \(order)::uuid) AND (\(q.symbol)::text IS NULL OR symbol = \(q.symbol)::text)
              AND (\(q.from.map { $0 / 1_000 })::bigint IS NULL OR executed_at >= TIMESTAMPTZ 'epoch' + \(q.from.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.to.map { $0 / 1_000 })::bigint IS NULL OR executed_at < TIMESTAMPTZ 'epoch' + \(q.to.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.after?.micros)::bigint IS NULL OR (executed_at, execution_id) < (TIMESTAMPTZ 'epoch' + \(q.after?.micros)::bigint * INTERVAL '1 microsecond', \(q.after?.key)::text))
            ORDER BY executed_at DESC, execution_id DESC LIMIT \(q.limit + 1)
            """, logger: logger)
        var out: [ExecutionRow] = []
        for try await (id, quantity, price, micros, orderId, symbol, side, value, commission, bsmv, fee, valueDate, settled)
            in rows.decode((String, Int64, String, Int64, UUID, String, String, Int64, Int64, Int64, Int64, String, Bool).self) {
            out.append(ExecutionRow(execution: Execution(id: id, quantity: quantity, price: Price(price) ?? .zero, time: micros * 1_000), orderId: orderId,
                                    symbol: symbol, side: OrderSide(rawValue: side) ?? .buy, value: Money(kurus: value),
                                    costs: TradeCosts(commission: Money(kurus: commission), bsmv: Money(kurus: bsmv), exchangeFee: Money(kurus: fee)),
                                    valueDate: valueDate, settled: settled))
        }
        guard out.count > q.limit else { return Page(rows: out, next: nil) }
        out.removeLast()
        let last = out[q.limit - 1]
        return Page(rows: out, next: Self.cursor(micros: last.execution.time / 1_000, key: last.execution.id))
    }

    /// One movement of the user's cash: a ledger entry on one of their cash accounts.
    public struct Transaction: Sendable {
        public var entry: Int64
        public var time: Int64
        public var kind: String
        public var account: String
        public var amount: Money
        public var orderId: UUID?
        public var executionId: String?
        public var valueDate: String?
    }

    /// `user`'s cash ledger (their `cash_settled` and `cash_pending` entries), newest first.
    public func transactions(of user: UUID, _ q: ListQuery) async throws -> Page<Transaction> {
        let rows = try await client.query("""
            SELECT entry_id, (extract(epoch FROM created_at) * 1000000)::bigint, kind, account, amount, order_id, execution_id, value_date::text
            FROM trading_ledger
            WHERE user_id = \(user) AND account IN ('cash_settled', 'cash_pending')
              AND (\(q.from.map { $0 / 1_000 })::bigint IS NULL OR created_at >= TIMESTAMPTZ 'epoch' + \(q.from.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.to.map { $0 / 1_000 })::bigint IS NULL OR created_at < TIMESTAMPTZ 'epoch' + \(q.to.map { $0 / 1_000 })::bigint * INTERVAL '1 microsecond')
              AND (\(q.after.flatMap { Int64($0.key) })::bigint IS NULL OR entry_id < \(q.after.flatMap { Int64($0.key) })::bigint)
            ORDER BY entry_id DESC LIMIT \(q.limit + 1)
            """, logger: logger)
        var out: [Transaction] = []
        for try await (entry, micros, kind, account, amount, order, execution, valueDate)
            in rows.decode((Int64, Int64, String, String, Int64, UUID?, String?, String?).self) {
            out.append(Transaction(entry: entry, time: micros * 1_000, kind: kind, account: account, amount: Money(kurus: amount), orderId: order,
                                   executionId: execution, valueDate: valueDate))
        }
        guard out.count > q.limit else { return Page(rows: out, next: nil) }
        out.removeLast()
        let last = out[q.limit - 1]
        return Page(rows: out, next: Self.cursor(micros: last.time / 1_000, key: "\(last.entry)"))
    }

    /// A holding with what the market says it is worth.
    public struct Holding: Sendable {
        public var symbol: String
        public var position: Position
        public var reservedShares: Int64
        public var latestPrice: Price?
    }

    /// `user`'s balances and holdings (nil without an account).
    public func portfolio(of user: UUID) async throws -> (TradingAccounts.Balances, [Holding])? {
        guard let balances = try await accounts.balances(of: user) else { return nil }
        let rows = try await client.query("""
            SELECT symbol, shares, reserved_shares, cost_basis, realised FROM trading_positions WHERE user_id = \(user) ORDER BY symbol
            """, logger: logger)
        var holdings: [Holding] = []
        for try await (symbol, shares, reserved, basis, realised) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            holdings.append(Holding(symbol: symbol, position: Position(shares: shares, costBasis: Money(kurus: basis), realised: Money(kurus: realised)),
                                    reservedShares: reserved, latestPrice: market.quote(for: symbol)?.latestPrice))
        }
        return (balances, holdings)
    }
}
