import Aggregator
import Events
import Foundation
import Ingest
import PostgresNIO

/// Fills: each applied once, in one transaction with its execution row, the position, the cash,
/// the ledger journal, the order and its event.
extension OrderService {
    /// What applying a fill did.
    public enum FillOutcome: Sendable {
        case applied(OrderRecord)
        /// The execution id was applied before: nothing changed.
        case duplicate
        /// The order's state refused it (an overfill, a fill past the limit, an ended order):
        /// logged, nothing changed.
        case refused(IllegalTransition)
    }

    /// Applies a broker's fill of order `id`. A buy spends the fill's value and costs out of cash
    /// (and its reservation shrinks to what the rest still needs); a sell's proceeds less costs
    /// come into cash and its shares leave the position. Cash moves on the ledger as pending until
    /// the value date (`SettlementCycle`).
    public func apply(_ execution: Execution, to id: UUID) async throws -> FillOutcome {
        let owner = try await client.query("SELECT user_id FROM trading_orders WHERE id = \(id)", logger: logger)
        var found: UUID?
        for try await user in owner.decode(UUID.self) { found = user }
        guard let user = found else { throw OrdersError("a fill for an unknown order \(id.lowercased)") }
        let outcome = try await client.transaction(logger: logger) { c in try await self.fill(execution, order: id, user: user, on: c) }
        if case .refused(let why) = outcome { logger.error("orders: fill \(Sanitized(execution.id)) of \(id.lowercased) refused: \(why)") }
        return outcome
    }

    private func fill(_ execution: Execution, order id: UUID, user: UUID, on c: PostgresConnection) async throws -> FillOutcome {
        _ = try await accounts.lock(user, on: c)
        guard var order = try await order(id: id, user: user, lock: true, on: c) else { throw OrdersError("order \(id.lowercased) vanished") }
        let terms = order.terms
        let seen = try await c.query("SELECT 1 FROM trading_executions WHERE broker = \(order.broker) AND execution_id = \(execution.id)", logger: logger)
        for try await _ in seen.decode(Int.self) { return .duplicate }
        let before = order.state
        do {
            order.state = try before.applying(.executed(execution))
        } catch {
            return .refused(error)
        }
        let value = order.state.filledValue - before.filledValue
        let costs = order.costs.costs(ofFill: value, filledBefore: before.filledValue)
        let tradeDay = SessionCalendar.istanbulDay(of: execution.time)
        let valueDate = UTCTime.formatDate(settings.settlement.valueDay(of: tradeDay, calendar: calendar))
        let now = now()
        order.updatedAt = now

        // The position, and what the cash and the reservation do.
        var cash: Money
        var releasedCash = Money.zero
        switch terms.side {
        case .buy:
            cash = -(value + costs.total)
            let after = order.state.isWorking ? reservation(for: order.state, costs: order.costs, limit: order.reservationPrice) : .zero
            releasedCash = order.reservedCash - after
            order.reservedCash = after
            try await c.query("""
                INSERT INTO trading_positions (user_id, symbol, shares, cost_basis) VALUES (\(user), \(terms.symbol), \(execution.quantity), \((value + costs.total).kurus))
                ON CONFLICT (user_id, symbol) DO UPDATE SET shares = trading_positions.shares + EXCLUDED.shares,
                    cost_basis = trading_positions.cost_basis + EXCLUDED.cost_basis
                """, logger: logger)
        case .sell:
            cash = value - costs.total
            let rows = try await c.query("""
                SELECT shares, cost_basis, realised FROM trading_positions WHERE user_id = \(user) AND symbol = \(terms.symbol) FOR UPDATE
                """, logger: logger)
            var position: Position?
            for try await (shares, basis, realised) in rows.decode((Int64, Int64, Int64).self) {
                position = Position(shares: shares, costBasis: Money(kurus: basis), realised: Money(kurus: realised))
            }
            guard var held = position, held.sell(execution.quantity, value: value, costs: costs.total) != nil else {
                throw OrdersError("order \(id.lowercased) sells \(execution.quantity) \(terms.symbol) the position does not hold")
            }
            let released = execution.quantity  // a working sell holds exactly its remaining shares
            order.reservedShares -= released
            try await c.query("""
                UPDATE trading_positions SET shares = \(held.shares), cost_basis = \(held.costBasis.kurus), realised = \(held.realised.kurus),
                    reserved_shares = reserved_shares - \(released)
                WHERE user_id = \(user) AND symbol = \(terms.symbol)
                """, logger: logger)
        }
        try await c.query("""
            UPDATE trading_accounts SET cash = cash + \(cash.kurus), reserved = reserved - \(releasedCash.kurus), updated_at = now() WHERE user_id = \(user)
            """, logger: logger)
        try await c.query("""
            INSERT INTO trading_executions (broker, execution_id, order_id, user_id, symbol, side, quantity, price, value, commission, bsmv, exchange_fee,
                                            executed_at, value_date)
            VALUES (\(order.broker), \(execution.id), \(id), \(user), \(terms.symbol), \(terms.side.rawValue), \(execution.quantity),
                    \("\(execution.price)")::numeric, \(value.kurus), \(costs.commission.kurus), \(costs.bsmv.kurus), \(costs.exchangeFee.kurus),
                    (TIMESTAMPTZ 'epoch' + \(execution.time / 1_000) * INTERVAL '1 microsecond'), \(valueDate)::date)
            """, logger: logger)
        try await journal(for: execution.id, order: id, user: user, side: terms.side, value: value, costs: costs, valueDate: valueDate, on: c)
        try await update(order, on: c)
        let event = Event.orderExecuted(order, execution: execution, value: value, costs: costs, valueDate: valueDate, time: now)
        try await events.append([event], on: c, logger: logger)
        return .applied(order)
    }

    /// The trade's journal: the value and each cost line between the user's pending cash and the
    /// other side; the entries sum to zero.
    private func journal(for executionId: String, order: UUID, user: UUID, side: OrderSide, value: Money, costs: TradeCosts, valueDate: String,
                         on c: PostgresConnection) async throws {
        let journal = UUID()
        let trade = side == .buy ? -value : value
        let lines: [(String, String, Money)] = [("trade", "market", trade), ("commission", "commission", -costs.commission),
                                                ("bsmv", "bsmv", -costs.bsmv), ("exchange_fee", "exchange_fee", -costs.exchangeFee)]
        for (kind, other, amount) in lines where amount != .zero {
            try await c.query("""
                INSERT INTO trading_ledger (journal, user_id, account, amount, kind, order_id, execution_id, value_date)
                VALUES (\(journal), \(user), 'cash_pending', \(amount.kurus), \(kind), \(order), \(executionId), \(valueDate)::date),
                       (\(journal), \(user), \(other), \(-amount.kurus), \(kind), \(order), \(executionId), \(valueDate)::date)
                """, logger: logger)
        }
    }

    /// What a working buy must still hold: the rest at its limit (a MARKET buy's upper limit at
    /// placement) and the costs that rest could book on top of what is filled.
    func reservation(for state: OrderState, costs: CostSchedule, limit: Price?) -> Money {
        guard let limit, let rest = Money.value(of: state.remainingQuantity, at: limit) else { return .zero }
        return rest + (costs.costs(ofFilled: state.filledValue + rest) - costs.costs(ofFilled: state.filledValue)).total
    }
}
