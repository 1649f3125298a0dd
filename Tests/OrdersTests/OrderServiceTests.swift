import Foundation
import Ingest
@testable import Orders
import TestSupport
import Testing

/// The commands against a real PostgreSQL: reservation, idempotency, cancels, ownership, and
/// concurrent orders of one account.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OrderServiceTests {
    static func request(_ side: OrderSide, _ quantity: Int64, _ symbol: String = "GARAN", price: String? = "100", type: OrderType = .limit,
                        tif: TimeInForce = .day, clientOrderId: String? = nil) -> OrderRequest {
        OrderRequest(terms: OrderTerms(symbol: symbol, side: side, type: type, timeInForce: tif, quantity: quantity, price: price.flatMap { Price($0) }),
                     clientOrderId: clientOrderId)
    }

    static func rejection(_ body: () async throws -> Void) async -> OrderRejection.Code? {
        do { try await body(); return nil } catch let rejection as OrderRejection { return rejection.code } catch {
            Issue.record("not a rejection: \(error)")
            return nil
        }
    }

    @Test func aBuyReservesItsValueAndCostsAndACancelGivesThemBack() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("ayse")
            try await db.service.accounts.deposit(Money("100000")!, to: user)
            let placed = try await db.service.place(Self.request(.buy, 100, price: "99.50"), by: user)
            #expect(placed.created && placed.order.state.status == .new && placed.order.state.sequence == 2)
            #expect(placed.order.state.brokerOrderId == "PAPER-" + placed.order.id.uuidString.lowercased())
            // 9,950.00 + commission 0.1 % 9.95 + BSMV 0.4975 → 0.50 + fee 0.2985 → 0.30 = 9,960.75.
            #expect(placed.order.reservedCash == Money("9960.75"))
            #expect(try await db.service.accounts.balances(of: user)?.buyingPower == Money("90039.25"))
            let cancelled = try await db.service.cancel(placed.order.id, by: user)
            #expect(cancelled.state.status == .cancelled && cancelled.reservedCash == .zero && cancelled.state.sequence == 3)
            #expect(try await db.service.accounts.balances(of: user) == TradingAccounts.Balances(cash: Money("100000")!, settledCash: Money("100000")!, reserved: .zero))
            let stored = try await db.strings("SELECT event_type FROM event_store WHERE topic = 'trading-events' ORDER BY seq")
            #expect(stored == ["CashDeposited", "OrderCreated", "OrderSubmitted", "OrderCancelled"])
            #expect(await Self.rejection { _ = try await db.service.cancel(placed.order.id, by: user) } == .notWorking)
            try await db.expectBooksBalance()
        }
    }

    @Test func aRetryWithTheSameClientOrderIdGetsTheSameOrderAndOtherFieldsAre409() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("mehmet")
            try await db.service.accounts.deposit(Money("50000")!, to: user)
            let first = try await db.service.place(Self.request(.buy, 10, clientOrderId: "strat-1"), by: user)
            let again = try await db.service.place(Self.request(.buy, 10, clientOrderId: "strat-1"), by: user)
            #expect(first.created && !again.created && again.order.id == first.order.id)
            let changed = await Self.rejection { _ = try await db.service.place(Self.request(.buy, 11, clientOrderId: "strat-1"), by: user) }
            #expect(changed == .clientOrderIdReused)
            // Another user may use the same key for an order of their own.
            let other = try await db.user("zeynep")
            try await db.service.accounts.deposit(Money("50000")!, to: other)
            #expect(try await db.service.place(Self.request(.buy, 10, clientOrderId: "strat-1"), by: other).created)
            #expect(try await db.integers("SELECT count(*) FROM trading_orders") == [2])
            #expect(try await db.integers("SELECT count(*) FROM event_store WHERE event_type = 'OrderCreated'") == [2])
            try await db.expectBooksBalance()
        }
    }

    @Test func ordersThatDoNotFitAreRefusedAndLeaveNothingBehind() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("can")
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 1), by: user) } == .noAccount)
            try await db.service.accounts.deposit(Money("1000")!, to: user)
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 10), by: user) } == .insufficientBuyingPower)
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.sell, 1), by: user) } == .insufficientShares)
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 1, "XYZ"), by: user) } == .unknownSymbol)
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 1, price: "110.10"), by: user) } == .priceAboveLimit)
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 1, price: "100.05"), by: user) } == .priceOffStep)
            // A MARKET buy reserves at the upper limit: 9 × 110 = 990 + costs 0.99 + 0.05 + 0.03.
            #expect(await Self.rejection { _ = try await db.service.place(Self.request(.buy, 10, price: nil, type: .market, tif: .ioc), by: user) }
                == .insufficientBuyingPower)
            // The paper broker does not fill at once yet: it refuses, and the reservation comes back.
            let market = try await db.service.place(Self.request(.buy, 9, price: nil, type: .market, tif: .ioc), by: user).order
            #expect(market.state.status == .rejected && market.reservedCash == .zero && market.state.reason?.contains("MARKET IOC") == true)
            let events = try await db.strings("""
                SELECT event_type || ' ' || coalesce(convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> 'reservedCash',
                                                     convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> 'releasedCash')
                FROM event_store WHERE event_type LIKE 'Order%' ORDER BY seq
                """)
            #expect(events == ["OrderCreated 991.07", "OrderRejected 991.07"])
            #expect(await Self.rejection { _ = try await db.service.accounts.withdraw(Money("1000.01")!, from: user) } == .insufficientBuyingPower)
            try await db.service.accounts.withdraw(Money("1000")!, from: user)
            #expect(try await db.integers("SELECT count(*) FROM trading_orders") == [1])
            try await db.expectBooksBalance()
        }
    }

    @Test func aNewUsersFirstOrderOpensTheAccountWithTheStartingCash() async throws {
        var settings = OrdersSettings()
        settings.paperStartingCash = Money("25000")
        try await TradingDatabase.with(settings: settings) { db in
            let user = try await db.user("newcomer")
            #expect(try await db.service.accounts.balances(of: user) == nil)
            _ = try await db.service.place(Self.request(.buy, 10), by: user)
            _ = try await db.service.place(Self.request(.buy, 10), by: user)
            let balances = try #require(try await db.service.accounts.balances(of: user))
            #expect(balances.cash == Money("25000") && balances.settledCash == Money("25000") && balances.reserved > .zero)
            #expect(try await db.integers("SELECT count(*) FROM event_store WHERE event_type = 'CashDeposited'") == [1])
            try await db.expectBooksBalance()
        }
    }

    @Test func anotherUsersOrderDoesNotExist() async throws {
        try await TradingDatabase.with { db in
            let owner = try await db.user("owner"), other = try await db.user("other")
            try await db.service.accounts.deposit(Money("10000")!, to: owner)
            try await db.service.accounts.deposit(Money("10000")!, to: other)
            let order = try await db.service.place(Self.request(.buy, 1), by: owner).order
            #expect(try await db.service.order(order.id, of: other) == nil)
            #expect(try await db.service.order(order.id, of: owner)?.id == order.id)
            #expect(await Self.rejection { _ = try await db.service.cancel(order.id, by: other) } == .notFound)
            #expect(try await db.service.order(order.id, of: owner)?.state.status == .new)
        }
    }

    @Test func theMarketsClosureAndItsNextOpenAreSaid() async throws {
        let saturday = TradingDatabase.noon + 5 * 86_400 * 1_000_000_000
        try await TradingDatabase.with(clock: { saturday }) { db in
            let user = try await db.user("late")
            try await db.service.accounts.deposit(Money("1000")!, to: user)
            do {
                _ = try await db.service.place(Self.request(.buy, 1), by: user)
                Issue.record("placed on a Saturday")
            } catch let rejection as OrderRejection {
                #expect(rejection.code == .marketClosed)
                #expect(rejection.message == "the market is closed; it opens at 2026-12-14 09:40 Istanbul")
            }
        }
    }

    /// 200 orders at once against one account — buys that together ask for more cash than it has,
    /// sells that together ask for more shares than it holds, and cancels racing them — never
    /// overspend or oversell, and leave the books balanced.
    @Test func twoHundredOrdersAtOnceNeverOverspendOrOversell() async throws {
        try await TradingDatabase.with { db in
            let user = try await db.user("burst")
            try await db.service.accounts.deposit(Money("100000")!, to: user)
            try await db.hold(1_000, of: "GARAN", user: user, basis: Money("95000")!)
            let outcomes = try await withThrowingTaskGroup(of: (OrderSide, Bool).self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let side: OrderSide = i % 2 == 0 ? .buy : .sell
                        let quantity: Int64 = side == .buy ? 20 + Int64(i % 7) : 15 + Int64(i % 5)
                        do {
                            let order = try await db.service.place(Self.request(side, quantity, price: side == .buy ? "99" : "101"), by: user).order
                            if i % 3 == 0 { _ = try await db.service.cancel(order.id, by: user) }
                            return (side, true)
                        } catch let rejection as OrderRejection {
                            #expect(rejection.code == (side == .buy ? .insufficientBuyingPower : .insufficientShares))
                            return (side, false)
                        }
                    }
                }
                var all: [(OrderSide, Bool)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            // Some of each side were refused: the burst asked for more than there is.
            #expect(outcomes.contains { $0 == (.buy, false) } && outcomes.contains { $0 == (.sell, false) })
            let balances = try #require(try await db.service.accounts.balances(of: user))
            #expect(balances.cash == Money("100000") && balances.reserved <= balances.cash)
            let sold = try await db.integers("SELECT coalesce(sum(quantity), 0)::bigint FROM trading_orders WHERE side = 'SELL' AND status = 'NEW'")
            #expect(sold[0] <= 1_000)
            try await db.expectBooksBalance()
        }
    }
}
