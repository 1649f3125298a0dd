import AkisConfig
import Ingest

/// `[orders]`: placement limits, BIST's price limits, costs and settlement, and the paper
/// broker (docs/orders.md). Rates are percents and amounts lira, both read exactly (write a rate
/// with an exponent as a string).
public struct OrdersSettings: ModuleSettings {
    public static let section = "orders"

    /// Off: no trading routes. On by default wherever users are (`[auth]` on, a database).
    public var enabled = true
    /// The daily band around the base price, in percent; per symbol in `[orders.price_limit_percent_by_symbol]`.
    public var priceLimit = Rate(percent: "10")!
    public var priceLimitBySymbol: [String: Rate] = [:]
    /// The closing auction's band around the last continuous-session price.
    public var closingAuctionLimit = Rate(percent: "3")!
    public var maximumOrderValue = Money("10000000")!
    public var maximumOrderQuantity: Int64 = 10_000_000
    public var maximumOpenOrders = 500
    /// Orders (placements, amendments and cancels) one user may send per second; more get 429.
    public var ordersPerSecond = 20
    /// The commission by user level (`auth_users.level`).
    public var commissionByLevel: [String: Rate] = ["basic": Rate(percent: "0.1")!, "pro": Rate(percent: "0.04")!]
    /// BSMV, of the commission.
    public var bsmv = Rate(percent: "5")!
    /// The exchange fee, of the value.
    public var exchangeFee = Rate(percent: "0.003")!
    /// T+n business days.
    public var settlement = SettlementCycle.bist
    /// Cash a new user's paper account starts with (nil: none; `akis accounts deposit` adds it).
    public var paperStartingCash: Money?
    /// Simulated time between a paper order's acceptance and its first possible fill.
    public var paperLatencyNanos: Int64 = 0
    /// What "now" is for the session phase, the trading day and order times.
    public var clock = TimeSource.wall

    public enum TimeSource: String, Sendable, CaseIterable {
        /// The machine's clock: trading against the live market.
        case wall
        /// The latest exchange time the feeds delivered (the wall clock before the first tick):
        /// paper trading against a replayed recording, whose market is open when it was recorded.
        case market
    }

    public init() {}

    public mutating func read(_ section: inout ConfigSection) throws(ConfigError) {
        enabled = try section.bool("enabled", default: enabled)
        priceLimit = try Self.rate(&section, "price_limit_percent", default: priceLimit, below: 100)
        if var table = try section.section("price_limit_percent_by_symbol") {
            for symbol in table.keys {
                guard SymbolTable.isValid(symbol) else { throw table.fail(symbol, "\(Sanitized(symbol)) is not a symbol") }
                priceLimitBySymbol[symbol] = try Self.rate(&table, symbol, default: priceLimit, below: 100)
            }
            try table.finish()
        }
        closingAuctionLimit = try Self.rate(&section, "closing_auction_limit_percent", default: closingAuctionLimit, below: 100)
        maximumOrderValue = try Self.money(&section, "max_order_value", positive: true) ?? maximumOrderValue
        maximumOrderQuantity = Int64(try section.integer("max_order_quantity", default: Int(maximumOrderQuantity), in: 1...1_000_000_000_000))
        maximumOpenOrders = try section.integer("max_open_orders", default: maximumOpenOrders, in: 1...1_000_000)
        ordersPerSecond = try section.integer("orders_per_second", default: ordersPerSecond, in: 1...100_000)
        if var table = try section.section("commission_percent") {
            for level in ["basic", "pro"] {
                commissionByLevel[level] = try Self.rate(&table, level, default: commissionByLevel[level]!, below: 100)
            }
            try table.finish()
        }
        bsmv = try Self.rate(&section, "bsmv_percent", default: bsmv, below: 100)
        exchangeFee = try Self.rate(&section, "exchange_fee_percent", default: exchangeFee, below: 100)
        settlement = SettlementCycle(days: try section.integer("settlement_days", default: settlement.days, in: 0...10))
        paperStartingCash = try Self.money(&section, "paper_starting_cash", positive: false)
        paperLatencyNanos = try section.duration("paper_latency", default: paperLatencyNanos, in: 0...60_000_000_000)
        clock = try section.choice("clock", default: clock)
    }

    static func rate(_ section: inout ConfigSection, _ key: String, default value: Rate, below percent: Int64) throws(ConfigError) -> Rate {
        guard let text = try section.decimalText(key) else { return value }
        guard let rate = Rate(percent: text) else {
            throw section.fail(key, "\(Sanitized(text)) is not a percent: a plain non-negative decimal with at most 8 decimals, such as \"0.003\"")
        }
        guard rate.units < percent * Rate.one / 100 else { throw section.fail(key, "\(text) % is not below \(percent) %") }
        return rate
    }

    static func money(_ section: inout ConfigSection, _ key: String, positive: Bool) throws(ConfigError) -> Money? {
        guard let text = try section.decimalText(key) else { return nil }
        guard let money = Money(text), money.kurus >= (positive ? 1 : 0), money.kurus <= 1_000_000_000_000_000 else {
            throw section.fail(key, "\(Sanitized(text)) is not an amount in lira \(positive ? "above 0" : "of 0 or more") with at most 2 decimals")
        }
        return money
    }

    /// The band for `symbol`.
    public func priceLimit(for symbol: String) -> Rate { priceLimitBySymbol[symbol] ?? priceLimit }

    public var summary: String {
        guard enabled else { return "off" }
        let commission = commissionByLevel.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) %" }.joined(separator: ", ")
        return "price limits ±\(priceLimit) % (\(priceLimitBySymbol.count) symbol overrides), closing auction ±\(closingAuctionLimit) %; "
            + "max \(maximumOrderValue) TRY and \(maximumOrderQuantity) shares an order, \(maximumOpenOrders) open, \(ordersPerSecond)/s a user; "
            + "commission \(commission), BSMV \(bsmv) %, exchange fee \(exchangeFee) %; T+\(settlement.days); "
            + "\(clock == .market ? "market" : "wall") clock; paper: starting cash \(paperStartingCash.map { "\($0) TRY" } ?? "none"), latency \(paperLatencyNanos / 1_000_000) ms"
    }
}
