import Foundation
import Ingest
@testable import Orders
import TestSupport
import Testing

/// Fills applied to the books on a real PostgreSQL: positions, cash, costs, the ledger, the value
/// date, and a fill applied once.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FillTests {
    static func fill(_ id: String, _ quantity: Int64, at price: String) -> Execution {
        Execution(id: id, quantity: quantity, price: Price(price)!, time: TradingDatabase.noon)
    }

    static func applied(_ outcome: OrderService.FillOutcome) -> OrderRecord? {
        if case .applied(let order) = outcome { return order }
        return nil
    }

    @Test func aBuyFilledInTwoPartsThenHalfSoldLeavesExactBooks() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("trader")
            try await db.service.accounts.deposit(Money("100000")!, to: user)
            let buy = try await db.service.place(OrderServiceTests.request(.buy, 100, price: "99.50"), by: user).order
            #expect(buy.reservedCash == Money("9960.75"))

            // 40 at 99.00: 3,960 with costs 3.96 + 0.20 + 0.12 on the order's 3,960 so far.
            let first = try #require(Self.applied(try await db.service.apply(Self.fill("X1", 40, at: "99.00"), to: buy.id)))
            #expect(first.state.status == .partiallyFilled && first.reservedCash == Money("5976.45"))  // 5,970 + (10.73 − 4.28)
            // The same execution again changes nothing; an overfill is refused.
            guard case .duplicate = try await db.service.apply(Self.fill("X1", 40, at: "99.00"), to: buy.id) else { Issue.record("applied twice"); return }
            guard case .refused = try await db.service.apply(Self.fill("X2", 61, at: "99.00"), to: buy.id) else { Issue.record("overfilled"); return }
            // 60 at 99.50: the order's costs on 9,930 are 10.73, so this fill books 6.45.
            let second = try #require(Self.applied(try await db.service.apply(Self.fill("X2", 60, at: "99.50"), to: buy.id)))
            #expect(second.state.status == .filled && second.reservedCash == .zero && second.state.sequence == 4)
            var balances = try #require(try await db.service.accounts.balances(of: user))
            #expect(balances == TradingAccounts.Balances(cash: Money("90059.27")!, settledCash: Money("100000")!, reserved: .zero))
            #expect(try await db.strings("SELECT shares || ' ' || cost_basis FROM trading_positions") == ["100 994073"])
            #expect(try await db.strings("SELECT sum(commission) || ' ' || sum(bsmv) || ' ' || sum(exchange_fee) FROM trading_executions") == ["993 50 30"])
            #expect(try await db.strings("SELECT DISTINCT value_date::text FROM trading_executions") == ["2026-12-09"])  // Monday T+2

            // Sell half at 101: proceeds 5,050 less 5.45; the basis taken is 9,940.73 / 2 = 4,970.365 → 4,970.37.
            let sell = try await db.service.place(OrderServiceTests.request(.sell, 50, price: "101"), by: user).order
            #expect(sell.reservedShares == 50)
            let sold = try #require(Self.applied(try await db.service.apply(Self.fill("X3", 50, at: "101"), to: sell.id)))
            #expect(sold.state.status == .filled && sold.reservedShares == 0)
            #expect(try await db.strings("SELECT shares || ' ' || reserved_shares || ' ' || cost_basis || ' ' || realised FROM trading_positions")
                == ["50 0 497036 7418"])
            balances = try #require(try await db.service.accounts.balances(of: user))
            #expect(balances.cash == Money("95103.82") && balances.settledCash == Money("100000"))
            let events = try await db.strings("SELECT event_type FROM event_store WHERE event_type LIKE 'Order%' OR event_type LIKE 'Partial%' ORDER BY seq")
            #expect(events == ["OrderCreated", "OrderSubmitted", "PartialExecution", "OrderFilled", "OrderCreated", "OrderSubmitted", "OrderFilled"])
            try await db.expectBooksBalance()

            // Settlement on the value date, once: the settled cash becomes the cash.
            #expect(try await db.service.settle(through: "2026-12-08") == 0)
            #expect(try await db.service.settle(through: "2026-12-09") == 3)
            #expect(try await db.service.settle(through: "2026-12-31") == 0)
            balances = try #require(try await db.service.accounts.balances(of: user))
            #expect(balances.settledCash == Money("95103.82") && balances.cash == Money("95103.82"))
            #expect(try await db.strings("SELECT sum(amount)::text FROM trading_ledger WHERE account = 'cash_pending'") == ["0"])
            let settlements = try await db.strings("""
                SELECT convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> 'amount' FROM event_store WHERE event_type = 'SettlementCompleted' ORDER BY seq
                """)
            #expect(settlements == ["5044.55", "-3964.28", "-5976.45"])  // the sale first, then the purchases' two fills
            try await db.expectBooksBalance()
        }
    }

    @Test func aFillPastTheLimitOrOnACancelledOrderIsRefusedAndChangesNothing() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("careful")
            try await db.service.accounts.deposit(Money("10000")!, to: user)
            let buy = try await db.service.place(OrderServiceTests.request(.buy, 10, price: "99"), by: user).order
            guard case .refused = try await db.service.apply(Self.fill("Y1", 5, at: "99.05"), to: buy.id) else { Issue.record("filled past the limit"); return }
            _ = try await db.service.cancel(buy.id, by: user)
            guard case .refused = try await db.service.apply(Self.fill("Y2", 5, at: "99"), to: buy.id) else { Issue.record("filled when cancelled"); return }
            #expect(try await db.integers("SELECT count(*) FROM trading_executions") == [0])
            #expect(try await db.service.accounts.balances(of: user)?.cash == Money("10000"))
            try await db.expectBooksBalance()
        }
    }
}
