import Aggregator
import Events
import Foundation
import Ingest
import PostgresNIO

/// Settlement: on its value date a fill's cash moves from pending to settled.
extension OrderService {
    /// Settles every fill whose value date is `valueDate` ("YYYY-MM-DD") or earlier: per fill, a
    /// journal from `cash_pending` to `cash_settled` and `SettlementCompleted`, in one transaction
    /// per account (sales before purchases). Returns how many fills it settled; a second run
    /// settles nothing again.
    @discardableResult
    public func settle(through valueDate: String) async throws -> Int {
        let rows = try await client.query("""
            SELECT DISTINCT user_id FROM trading_executions WHERE settled_at IS NULL AND value_date <= \(valueDate)::date
            """, logger: logger)
        var users: [UUID] = []
        for try await user in rows.decode(UUID.self) { users.append(user) }
        var settled = 0
        for user in users {
            settled += try await client.transaction(logger: logger) { c in try await self.settle(user, through: valueDate, on: c) }
        }
        return settled
    }

    /// Settles through the trading day the clock is in (what the module's maintenance runs).
    public func settleToday() async throws -> Int {
        try await settle(through: UTCTime.formatDate(SessionCalendar.istanbulDay(of: now())))
    }

    private func settle(_ user: UUID, through valueDate: String, on c: PostgresConnection) async throws -> Int {
        _ = try await accounts.lock(user, on: c)
        let rows = try await c.query("""
            SELECT broker, execution_id, order_id, side, value, commission + bsmv + exchange_fee, value_date::text FROM trading_executions
            WHERE user_id = \(user) AND settled_at IS NULL AND value_date <= \(valueDate)::date
            ORDER BY side DESC, value_date, executed_at FOR UPDATE
            """, logger: logger)
        var fills: [(broker: String, id: String, order: UUID, net: Money, date: String)] = []
        for try await (broker, id, order, side, value, costs, date) in rows.decode((String, String, UUID, String, Int64, Int64, String).self) {
            fills.append((broker, id, order, side == OrderSide.sell.rawValue ? Money(kurus: value - costs) : Money(kurus: -value - costs), date))
        }
        var events: [Event] = []
        let now = now()
        for fill in fills {
            let journal = UUID()
            try await c.query("""
                INSERT INTO trading_ledger (journal, user_id, account, amount, kind, order_id, execution_id, value_date)
                VALUES (\(journal), \(user), 'cash_pending', \(-fill.net.kurus), 'settlement', \(fill.order), \(fill.id), \(fill.date)::date),
                       (\(journal), \(user), 'cash_settled', \(fill.net.kurus), 'settlement', \(fill.order), \(fill.id), \(fill.date)::date)
                """, logger: logger)
            try await c.query("""
                UPDATE trading_executions SET settled_at = (TIMESTAMPTZ 'epoch' + \(now / 1_000) * INTERVAL '1 microsecond')
                WHERE broker = \(fill.broker) AND execution_id = \(fill.id)
                """, logger: logger)
            events.append(Event(.settlementCompleted, key: user.lowercased, data: [
                ("userId", .string(user.lowercased)), ("orderId", .string(fill.order.lowercased)), ("executionId", .string(fill.id)),
                ("amount", .string("\(fill.net)")), ("valueDate", .string(fill.date)),
            ], time: now))
        }
        let total = fills.reduce(Money.zero) { $0 + $1.net }
        try await c.query("UPDATE trading_accounts SET settled_cash = settled_cash + \(total.kurus), updated_at = now() WHERE user_id = \(user)",
                          logger: logger)
        try await self.events.append(events, on: c, logger: logger)
        return fills.count
    }
}
