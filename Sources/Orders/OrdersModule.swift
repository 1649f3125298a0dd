import Aggregator
import AkisConfig
import Auth
import Daemon
import Events
import Hummingbird
import Ingest
import ServiceLifecycle
import Store

/// The orders module (docs/orders.md): paper trading on the live feed. It needs users (`[auth]`)
/// and a database, appends its events through the events module's store, and reads the market
/// from the market-data module's latest prices, so it comes after all three in the assembly.
public struct OrdersModule: DaemonModule {
    public static let name = "orders"
    public static var migrations: [Migration] { OrdersSchema.migrations }
    public static var settings: (any ModuleSettings.Type)? { OrdersSettings.self }

    let routes: OrderRoutes?
    let off: String?
    public let services: [any Service]

    public init(context: ModuleContext) throws {
        let settings = context.configuration.settings(OrdersSettings.self)
        let auth = context.configuration.settings(AuthSettings.self)
        guard settings.enabled, auth.enabled, let database = context.database else {
            routes = nil
            services = []
            off = !settings.enabled ? "[orders] enabled = false" : !auth.enabled ? "no users ([auth] is off)" : "no database"
            return
        }
        let latest = try context.shared.take(LatestPrices.self, for: Self.name)
        let market = LatestPricesMarket(universe: try context.shared.take(SymbolUniverse.self, for: Self.name), latest: latest)
        let clock: @Sendable () -> Int64 = switch settings.clock {
        case .wall: { Clock.wallNanos() }
        case .market: {
            let marketTime = latest.snapshot([]).marketTime
            return marketTime > 0 ? marketTime : Clock.wallNanos()
        }
        }
        let service = OrderService(client: database.client, events: try context.shared.take(EventStore.self, for: Self.name), settings: settings,
                                   calendar: context.configuration.calendar, market: market, broker: PaperBroker(), clock: clock,
                                   logger: context.logger)
        routes = OrderRoutes(service: service, tokens: try context.shared.take(AccessTokens.self, for: Self.name),
                             limiter: RateLimiter(burst: settings.ordersPerSecond, perSecond: Double(settings.ordersPerSecond)), logger: context.logger)
        off = nil
        let logger = context.logger
        services = [
            DatabaseMaintenance(name: "orders settlement", database: database, every: .seconds(60)) { _, _ in
                do {
                    let settled = try await service.settleToday()
                    if settled > 0 { logger.info("orders: settled \(settled) fills") }
                } catch {
                    logger.info("orders: settlement failed (tried again in a minute): \(error)")
                }
            },
        ]
    }

    public func addRoutes(to router: Router<DaemonRequestContext>) {
        routes?.add(to: router)
    }

    public func serving(at httpAddress: String) -> [String] {
        guard routes != nil else { return ["orders: off (\(off ?? "?"))"] }
        return ["orders: paper trading at http://\(httpAddress)/api/trading/orders"]
    }
}
