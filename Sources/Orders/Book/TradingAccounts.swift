import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store

/// Paper accounts: cash in and out (`akis accounts`, the starting cash), and their balances. The
/// account's row is the lock every command on its orders and positions takes first.
public struct TradingAccounts: Sendable {
    let client: PostgresClient
    let events: EventStore
    let clock: @Sendable () -> Int64
    let logger: Logger

    public init(client: PostgresClient, events: EventStore, clock: @escaping @Sendable () -> Int64 = { Clock.wallNanos() }, logger: Logger) {
        self.client = client
        self.events = events
        self.clock = clock
        self.logger = logger
    }

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
            _ = try await lock(user, on: c)
            return try await move(amount, user: user, kind: .cashDeposited, on: c)
        }
    }

    /// Takes paper cash out: at most what has settled and is not held by working buys.
    @discardableResult
    public func withdraw(_ amount: Money, from user: UUID) async throws -> Balances {
        guard amount > .zero else { throw OrderRejection(.invalidValue, field: "amount", "a withdrawal is a positive amount, not \(amount)") }
        return try await client.transaction(logger: logger) { c in
            let account = try await lock(user, on: c)
            let available = min(account.settledCash, account.cash - account.reserved)
            guard amount <= available else {
                throw OrderRejection(.insufficientBuyingPower, field: "amount",
                                     "\(amount) TRY is more than can be withdrawn: \(available) TRY (settled cash not held by open orders)")
            }
            return try await move(-amount, user: user, kind: .cashWithdrawn, on: c)
        }
    }

    /// Opens `user`'s account with `cash` unless it has one; whether it opened it.
    @discardableResult
    public func open(_ user: UUID, with cash: Money) async throws -> Bool {
        try await client.transaction(logger: logger) { c in
            let rows = try await c.query("INSERT INTO trading_accounts (user_id) VALUES (\(user)) ON CONFLICT DO NOTHING RETURNING user_id", logger: logger)
            var opened = false
            for try await _ in rows.decode(UUID.self) { opened = true }
            if opened && cash > .zero { _ = try await move(cash, user: user, kind: .cashDeposited, on: c) }
            return opened
        }
    }

    /// Locks `user`'s account for the transaction; refuses a user without one.
    func lock(_ user: UUID, on c: PostgresConnection) async throws -> Balances {
        let rows = try await c.query("SELECT cash, settled_cash, reserved FROM trading_accounts WHERE user_id = \(user) FOR UPDATE", logger: logger)
        if let balances = try await Self.balances(in: rows) { return balances }
        throw OrderRejection(.noAccount, "the user has no trading account (an operator opens one: akis accounts deposit USER AMOUNT)")
    }

    /// `user`'s balances; nil without an account.
    public func balances(of user: UUID) async throws -> Balances? {
        try await Self.balances(in: client.query("SELECT cash, settled_cash, reserved FROM trading_accounts WHERE user_id = \(user)", logger: logger))
    }

    /// The first row of `cash, settled_cash, reserved`.
    private static func balances(in rows: PostgresRowSequence) async throws -> Balances? {
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
        guard let balances = try await Self.balances(in: rows) else { throw OrdersError("the account of \(user.lowercased) vanished") }
        let event = Event(kind, key: user.lowercased, data: [
            ("userId", .string(user.lowercased)), ("journal", .string(journal.lowercased)), ("amount", .string("\(amount.kurus < 0 ? -amount : amount)")),
            ("cash", .string("\(balances.cash)")), ("settledCash", .string("\(balances.settledCash)")),
        ], time: clock())
        try await events.append([event], on: c, logger: logger)
        return balances
    }
}
