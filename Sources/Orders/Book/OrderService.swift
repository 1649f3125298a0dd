import Aggregator
import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store

/// The orders module's commands over PostgreSQL. Each one locks the account's row first, checks
/// against what it then reads, and writes the read model and the order's events in one
/// transaction: every command on one account's orders and positions is serialised by that lock,
/// so concurrent orders can never overspend or oversell (and the tables' constraints are the
/// last guard), and two commands never wait on each other crosswise.
public final class OrderService: Sendable {
    let client: PostgresClient
    let events: EventStore
    public let accounts: TradingAccounts
    let settings: OrdersSettings
    let calendar: SessionCalendar
    let market: any MarketView
    let broker: any Broker
    let clock: @Sendable () -> Int64
    let logger: Logger

    public init(client: PostgresClient, events: EventStore, settings: OrdersSettings, calendar: SessionCalendar, market: any MarketView,
                broker: any Broker, clock: @escaping @Sendable () -> Int64 = { Clock.wallNanos() }, logger: Logger) {
        self.client = client
        self.events = events
        accounts = TradingAccounts(client: client, events: events, clock: clock, logger: logger)
        self.settings = settings
        self.calendar = calendar
        self.market = market
        self.broker = broker
        self.clock = clock
        self.logger = logger
    }

    /// What placing answered: the order, and whether this request made it (false: a retry with
    /// the same `clientOrderId`, answered with the order the first one made).
    public struct Placement: Sendable {
        public var order: OrderRecord
        public var created: Bool
    }

    // MARK: Placement

    /// Checks, reserves and records an order (PENDING_NEW, `OrderCreated`), then hands it to the
    /// broker and records its answer (NEW and `OrderSubmitted`, or REJECTED with the reservation
    /// released). Throws an `OrderRejection` for every rule it breaks; nothing is stored then.
    public func place(_ request: OrderRequest, by user: UUID) async throws -> Placement {
        let now = self.now()
        let terms = request.terms
        let phase = calendar.phase(at: now)
        let quote = market.quote(for: terms.symbol)
        let limits = quote.flatMap { self.limits(for: terms.symbol, quote: $0, phase: phase) }
        let attempt = { @Sendable in
            try await self.client.transaction(logger: self.logger) { c in
                try await self.record(request, by: user, now: now, phase: phase, quote: quote, limits: limits, on: c)
            }
        }
        let placement: Placement
        do {
            placement = try await attempt()
        } catch let refusal as OrderRejection where refusal.code == .noAccount && settings.paperStartingCash != nil {
            // A new user's first order opens the account with the configured starting cash.
            try await accounts.open(user, with: settings.paperStartingCash!)
            placement = try await attempt()
        }
        guard placement.created else { return placement }
        return Placement(order: try await submit(placement.order), created: true)
    }

    /// Placement's transaction: the account locked, the rules checked, the reservation made, the order and its event written.
    private func record(_ request: OrderRequest, by user: UUID, now: Int64, phase: SessionPhase, quote: MarketQuote?, limits: PriceLimits?,
                        on c: PostgresConnection) async throws -> Placement {
        let terms = request.terms
        let account = try await accounts.lock(user, on: c)
        if let key = request.clientOrderId, let earlier = try await order(user: user, clientOrderId: key, on: c) {
            guard earlier.terms == terms else {
                throw OrderRejection(.clientOrderIdReused, field: "clientOrderId",
                                     "clientOrderId \(key) names order \(earlier.id.lowercased) with other fields")
            }
            return Placement(order: earlier, created: false)
        }
        let context = PlacementContext(symbolKnown: quote != nil, phase: phase, limits: limits, maximumQuantity: settings.maximumOrderQuantity,
                                       maximumOrderValue: settings.maximumOrderValue, openOrders: try await openOrders(user, on: c),
                                       maximumOpenOrders: settings.maximumOpenOrders, nextOpen: nextOpen(after: now))
        try OrderRules.check(terms, in: context)
        let costs = CostSchedule(commission: try await commission(for: user, on: c), bsmv: settings.bsmv,
                                 exchangeFee: settings.exchangeFee)
        var reservedCash = Money.zero, reservedShares: Int64 = 0
        var reservationPrice: Price?
        switch terms.side {
        case .buy:
            // A MARKET buy is valued at the upper limit (the rules saw that limits exist).
            guard let price = terms.price ?? limits?.upper, let value = Money.value(of: terms.quantity, at: price) else {
                throw OrderRejection(.orderValueAboveMaximum, field: "quantity", "the order's value is out of range")
            }
            reservationPrice = price
            reservedCash = value + costs.costs(ofFilled: value).total
            let buyingPower = account.cash - account.reserved
            guard reservedCash <= buyingPower else {
                throw OrderRejection(.insufficientBuyingPower,
                                     "the order needs \(reservedCash) TRY (value and estimated costs); the buying power is \(buyingPower) TRY")
            }
            try await c.query("UPDATE trading_accounts SET reserved = reserved + \(reservedCash.kurus), updated_at = now() WHERE user_id = \(user)",
                              logger: logger)
        case .sell:
            let rows = try await c.query("""
                SELECT shares, reserved_shares FROM trading_positions WHERE user_id = \(user) AND symbol = \(terms.symbol) FOR UPDATE
                """, logger: logger)
            var free: Int64 = 0
            for try await (shares, reserved) in rows.decode((Int64, Int64).self) { free = shares - reserved }
            guard terms.quantity <= free else {
                throw OrderRejection(.insufficientShares, field: "quantity",
                                     "selling \(terms.quantity) \(terms.symbol) needs free shares; the account has \(free) (held less those open sells hold)")
            }
            reservedShares = terms.quantity
            try await c.query("""
                UPDATE trading_positions SET reserved_shares = reserved_shares + \(reservedShares) WHERE user_id = \(user) AND symbol = \(terms.symbol)
                """, logger: logger)
        }
        let order = OrderRecord(id: UUID(), userId: user, clientOrderId: request.clientOrderId, state: OrderState(created: terms),
                                reservedCash: reservedCash, reservedShares: reservedShares, reservationPrice: reservationPrice, costs: costs,
                                broker: broker.name,
                                createdAt: now, updatedAt: now, tradingDay: UTCTime.formatDate(SessionCalendar.istanbulDay(of: now)))
        try await insert(order, on: c)
        try await events.append([.orderCreated(order, time: now)], on: c, logger: logger)
        return Placement(order: order, created: true)
    }

    /// Hands a recorded order to the broker and records the answer.
    func submit(_ order: OrderRecord) async throws -> OrderRecord {
        let answer = try await broker.submit(order)
        return try await client.transaction(logger: logger) { c in
            _ = try await self.accounts.lock(order.userId, on: c)
            guard var current = try await self.order(id: order.id, user: order.userId, lock: true, on: c) else {
                throw OrdersError("order \(order.id.lowercased) vanished while it was submitted")
            }
            let now = self.now()
            switch answer {
            case .accepted(let brokerOrderId):
                current.state = try current.state.applying(.submitted(brokerOrderId: brokerOrderId))
                current.updatedAt = now
                try await self.update(current, on: c)
                try await self.events.append([.orderSubmitted(current, time: now)], on: c, logger: self.logger)
            case .refused(let reason):
                current.state = try current.state.applying(.rejected(reason: reason))
                current.updatedAt = now
                let released = try await self.release(&current, on: c)
                try await self.update(current, on: c)
                try await self.events.append([.orderRejected(current, released: released, time: now)], on: c, logger: self.logger)
            }
            return current
        }
    }

    // MARK: Cancel

    /// Cancels a working order of `user`'s and releases what it holds. The paper broker cancels
    /// at once: the order goes to CANCELLED in the same transaction (its fills, serialised by the
    /// account's lock, either came before — and stay — or cannot come after).
    public func cancel(_ id: UUID, by user: UUID) async throws -> OrderRecord {
        try await client.transaction(logger: logger) { c in
            do {
                _ = try await self.accounts.lock(user, on: c)
            } catch let refusal as OrderRejection where refusal.code == .noAccount {
                throw OrderRejection(.notFound, "no order \(id.lowercased)")  // no account, no orders
            }
            guard var order = try await self.order(id: id, user: user, lock: true, on: c) else {
                throw OrderRejection(.notFound, "no order \(id.lowercased)")
            }
            guard order.state.isWorking else {
                throw OrderRejection(.notWorking, "order \(id.lowercased) is \(order.state.status.apiName): there is nothing to cancel")
            }
            let now = self.now()
            order.state = try order.state.applying(.cancelled(reason: "cancelled by the owner"))
            order.updatedAt = now
            let released = try await self.release(&order, on: c)
            try await self.update(order, on: c)
            try await self.events.append([.orderCancelled(order, released: released, time: now)], on: c, logger: self.logger)
            return order
        }
    }

    /// One order of `user`'s (nil: none, or another user's).
    public func order(_ id: UUID, of user: UUID) async throws -> OrderRecord? {
        try await client.withConnection { c in try await self.order(id: id, user: user, lock: false, on: c) }
    }

    // MARK: Limits and the calendar

    /// Now, to the microsecond PostgreSQL keeps: a reply and a later read of the order agree.
    func now() -> Int64 { clock() / 1_000 * 1_000 }

    /// The band a price must lie in now: a feed's published limits, the closing auction's band
    /// in that phase, else the daily band around the previous close (or today's first trade).
    func limits(for symbol: String, quote: MarketQuote, phase: SessionPhase) -> PriceLimits? {
        if let published = quote.publishedLimits { return published }
        if phase == .closingAuction, let last = quote.lastPrice {
            return PriceLimits.closingAuction(lastPrice: last, margin: settings.closingAuctionLimit)
        }
        guard let base = quote.previousClose ?? quote.firstPriceToday else { return nil }
        return PriceLimits.daily(previousClose: base, margin: settings.priceLimit(for: symbol))
    }

    /// "2026-12-08 09:40 Istanbul": when the next session after `now` starts.
    func nextOpen(after now: Int64) -> String? {
        var day = SessionCalendar.istanbulDay(of: now)
        for _ in 0..<31 {
            if calendar.isTradingDay(day), calendar.sessionStart(day) > now {
                let minute = calendar.schedule(day).first?.minute ?? 0
                return "\(UTCTime.formatDate(day)) \(Self.twoDigits(minute / 60)):\(Self.twoDigits(minute % 60)) Istanbul"
            }
            day += 1
        }
        return nil
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// A failure that is not the request's fault (a broken invariant, a vanished row).
public struct OrdersError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
