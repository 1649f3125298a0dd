import Events
import Foundation
import Ingest
import PostgresNIO
import Store

/// Paper accounts: cash in and out (`akis accounts`), and the balances the portfolio shows.
extension OrderService {
    /// A trading account's balances.
    public struct Balances: Hashable, Sendable {
        /// The trade-date balance: the cash ledger's sum.
        public var cash: Money
        /// The part of it that has settled.
        public var settledCash: Money
        /// What working buys hold.
        public var reserved: Money
        public var buyingPower: Money { cash - reserved }
    }

    /// Puts paper cash into `user`'s account, opening it if need be.
    @discardableResult
    public func deposit(_ amount: Money, to user: UUID) async throws -> Balances {
        guard amount > .zero else { throw OrderRejection(.invalidValue, field: "amount", "a deposit is a positive amount, not \(amount)") }
        return try await client.transaction(logger: logger) { c in
            try await c.query("INSERT INTO trading_accounts (user_id) VALUES (\(user)) ON CONFLICT DO NOTHING", logger: self.logger)
            _ = try await self.lockAccount(user, on: c)
            return try await self.move(amount, user: user, kind: .cashDeposited, on: c)
        }
    }

    /// Takes paper cash out: at most what has settled and is not held by working buys.
    @discardableResult
    public func withdraw(_ amount: Money, from user: UUID) async throws -> Balances {
        guard amount > .zero else { throw OrderRejection(.invalidValue, field: "amount", "a withdrawal is a positive amount, not \(amount)") }
        return try await client.transaction(logger: logger) { c in
            let account = try await self.lockAccount(user, on: c)
            let available = min(account.settled, account.cash - account.reserved)
            guard amount <= available else {
                throw OrderRejection(.insufficientBuyingPower, field: "amount",
                                     "\(amount) TRY is more than can be withdrawn: \(available) TRY (settled cash not held by open orders)")
            }
            return try await self.move(-amount, user: user, kind: .cashWithdrawn, on: c)
        }
    }

    /// `user`'s balances; nil without an account.
    public func balances(of user: UUID) async throws -> Balances? {
        let rows = try await client.query("SELECT cash, settled_cash, reserved FROM trading_accounts WHERE user_id = \(user)", logger: logger)
        for try await (cash, settled, reserved) in rows.decode((Int64, Int64, Int64).self) {
            return Balances(cash: Money(kurus: cash), settledCash: Money(kurus: settled), reserved: Money(kurus: reserved))
        }
        return nil
    }

    /// One journal between the user's settled cash and the outside world, its event, and the balances after it.
    private func move(_ amount: Money, user: UUID, kind: EventType, on c: PostgresConnection) async throws -> Balances {
        let journal = UUID()
        let name = kind == .cashDeposited ? "deposit" : "withdrawal"
        try await c.query("""
            INSERT INTO trading_ledger (journal, user_id, account, amount, kind)
            VALUES (\(journal), \(user), 'cash_settled', \(amount.kurus), \(name)), (\(journal), \(user), 'external', \(-amount.kurus), \(name))
            """, logger: logger)
        let rows = try await c.query("""
            UPDATE trading_accounts SET cash = cash + \(amount.kurus), settled_cash = settled_cash + \(amount.kurus), updated_at = now()
            WHERE user_id = \(user) RETURNING cash, settled_cash, reserved
            """, logger: logger)
        var balances: Balances?
        for try await (cash, settled, reserved) in rows.decode((Int64, Int64, Int64).self) {
            balances = Balances(cash: Money(kurus: cash), settledCash: Money(kurus: settled), reserved: Money(kurus: reserved))
        }
        guard let balances else { throw OrdersError("the account of \(user.lowercased) vanished") }
        let event = Event(kind, key: user.lowercased, data: [
            ("userId", .string(user.lowercased)), ("journal", .string(journal.lowercased)), ("amount", .string("\(amount.kurus < 0 ? -amount : amount)")),
            ("cash", .string("\(balances.cash)")), ("settledCash", .string("\(balances.settledCash)")),
        ], time: clock())
        try await events.append([event], on: c, logger: logger)
        return balances
    }
}
