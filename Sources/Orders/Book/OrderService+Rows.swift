import Foundation
import Ingest
import PostgresNIO

/// The read model's rows, read and written inside a command's transaction.
extension OrderService {
    func openOrders(_ user: UUID, on c: PostgresConnection) async throws -> Int {
        let rows = try await c.query("SELECT count(*) FROM trading_orders WHERE user_id = \(user) AND status IN \(unescaped: OrdersSchema.workingStatuses)",
                                     logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    func commission(for user: UUID, on c: PostgresConnection) async throws -> Rate {
        let rows = try await c.query("SELECT level FROM auth_users WHERE id = \(user)", logger: logger)
        for try await level in rows.decode(String.self) {
            guard let rate = settings.commissionByLevel[level] else { throw OrdersError("user level \(level) has no commission rate") }
            return rate
        }
        throw OrdersError("no user \(user.lowercased)")
    }

    static let columns = """
        id, user_id, client_order_id, symbol, side, order_type, time_in_force, quantity, price::text, status, filled_quantity, filled_value,
        reserved_cash, reserved_shares, commission_rate, bsmv_rate, exchange_fee_rate, broker, broker_order_id, reason, seq::bigint,
        trading_day::text, extract(epoch FROM created_at)::numeric(20, 6)::text, extract(epoch FROM updated_at)::numeric(20, 6)::text,
        reservation_price::text
        """

    func order(id: UUID, user: UUID, lock: Bool, on c: PostgresConnection) async throws -> OrderRecord? {
        let rows = try await c.query("""
            SELECT \(unescaped: Self.columns) FROM trading_orders WHERE id = \(id) AND user_id = \(user) \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await Self.first(rows)
    }

    func order(user: UUID, clientOrderId: String, on c: PostgresConnection) async throws -> OrderRecord? {
        let rows = try await c.query("""
            SELECT \(unescaped: Self.columns) FROM trading_orders WHERE user_id = \(user) AND client_order_id = \(clientOrderId)
            """, logger: logger)
        return try await Self.first(rows)
    }

    static func first(_ rows: PostgresRowSequence) async throws -> OrderRecord? {
        for try await row in rows { return try order(in: row) }
        return nil
    }

    /// The order in a row that starts with `columns`.
    static func order(in row: PostgresRow) throws -> OrderRecord {
        let r = row.makeRandomAccess()
        func text(_ i: Int) throws -> String { try r[i].decode(String.self) }
        func optional(_ i: Int) throws -> String? { try r[i].decode(String?.self) }
        func integer(_ i: Int) throws -> Int64 { try r[i].decode(Int64.self) }
        guard let side = OrderSide(rawValue: try text(4)), let type = OrderType(rawValue: try text(5)),
              let tif = TimeInForce(rawValue: try text(6)), let status = OrderStatus(rawValue: try text(9)) else {
            throw OrdersError("order \(try r[0].decode(UUID.self)) has a field this version does not know")
        }
        let terms = OrderTerms(symbol: try text(3), side: side, type: type, timeInForce: tif, quantity: try integer(7),
                               price: try optional(8).flatMap { Price($0) })
        let state = OrderState(terms: terms, status: status, filledQuantity: try integer(10), filledValue: Money(kurus: try integer(11)),
                               brokerOrderId: try optional(18), reason: try optional(19), sequence: Int(try integer(20)))
        return OrderRecord(id: try r[0].decode(UUID.self), userId: try r[1].decode(UUID.self), clientOrderId: try optional(2), state: state,
                           reservedCash: Money(kurus: try integer(12)), reservedShares: try integer(13),
                           reservationPrice: try optional(24).flatMap { Price($0) },
                           costs: CostSchedule(commission: Rate(units: try integer(14)), bsmv: Rate(units: try integer(15)),
                                               exchangeFee: Rate(units: try integer(16))),
                           broker: try text(17), createdAt: Self.nanos(try text(22)), updatedAt: Self.nanos(try text(23)), tradingDay: try text(21))
    }

    /// Epoch seconds with six decimals ("1765099200.123456") in nanoseconds.
    static func nanos(_ seconds: String) -> Int64 {
        var text = seconds
        guard case .success(let micros) = text.withUTF8({ ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: 6) }) else { return 0 }
        return micros * 1_000
    }

    func insert(_ order: OrderRecord, on c: PostgresConnection) async throws {
        let t = order.terms, s = order.state
        try await c.query("""
            INSERT INTO trading_orders (id, user_id, client_order_id, symbol, side, order_type, time_in_force, quantity, price, status,
                                        filled_quantity, filled_value, reserved_cash, reserved_shares, commission_rate, bsmv_rate, exchange_fee_rate,
                                        broker, broker_order_id, reason, seq, trading_day, created_at, updated_at, reservation_price)
            VALUES (\(order.id), \(order.userId), \(order.clientOrderId), \(t.symbol), \(t.side.rawValue), \(t.type.rawValue), \(t.timeInForce.rawValue),
                    \(t.quantity), \(t.price.map { "\($0)" })::numeric, \(s.status.rawValue), \(s.filledQuantity), \(s.filledValue.kurus),
                    \(order.reservedCash.kurus), \(order.reservedShares), \(order.costs.commission.units), \(order.costs.bsmv.units),
                    \(order.costs.exchangeFee.units), \(order.broker), \(s.brokerOrderId), \(s.reason), \(Int64(s.sequence)), \(order.tradingDay)::date,
                    (TIMESTAMPTZ 'epoch' + \(order.createdAt / 1_000) * INTERVAL '1 microsecond'), (TIMESTAMPTZ 'epoch' + \(order.updatedAt / 1_000) * INTERVAL '1 microsecond'),
                    \(order.reservationPrice.map { "\($0)" })::numeric)
            """, logger: logger)
    }

    func update(_ order: OrderRecord, on c: PostgresConnection) async throws {
        let t = order.terms, s = order.state
        try await c.query("""
            UPDATE trading_orders SET quantity = \(t.quantity), price = \(t.price.map { "\($0)" })::numeric, status = \(s.status.rawValue),
                filled_quantity = \(s.filledQuantity), filled_value = \(s.filledValue.kurus), reserved_cash = \(order.reservedCash.kurus),
                reserved_shares = \(order.reservedShares), broker_order_id = \(s.brokerOrderId), reason = \(s.reason), seq = \(Int64(s.sequence)),
                updated_at = (TIMESTAMPTZ 'epoch' + \(order.updatedAt / 1_000) * INTERVAL '1 microsecond')
            WHERE id = \(order.id)
            """, logger: logger)
    }

    /// Gives back what an ended order holds (the account's and the position's rows are locked).
    func release(_ order: inout OrderRecord, on c: PostgresConnection) async throws -> (cash: Money, shares: Int64) {
        let released = (cash: order.reservedCash, shares: order.reservedShares)
        if released.cash > .zero {
            try await c.query("UPDATE trading_accounts SET reserved = reserved - \(released.cash.kurus), updated_at = now() WHERE user_id = \(order.userId)",
                              logger: logger)
        }
        if released.shares > 0 {
            try await c.query("""
                UPDATE trading_positions SET reserved_shares = reserved_shares - \(released.shares)
                WHERE user_id = \(order.userId) AND symbol = \(order.terms.symbol)
                """, logger: logger)
        }
        order.reservedCash = .zero
        order.reservedShares = 0
        return released
    }
}
