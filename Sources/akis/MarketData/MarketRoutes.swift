import Aggregator
import Daemon
import Fanout
import Hummingbird
import Store

/// `GET /api/market/latest`: the latest prices and the day's statistics, from memory (the
/// aggregator's), as JSON.
struct MarketRoutes: Sendable {
    let parser: MarketQueryParser
    let latest: LatestPrices
    let calendar: SessionCalendar
    let access: MarketAccess?

    func register(on router: Router<DaemonRequestContext>) {
        router.get("/api/market/latest") { request, _ in
            try await MarketAnswer.answer(request, access: access) { parameters, _ in
                let snapshot = latest.snapshot(try parser.latest(parameters))
                return MarketMessage.latest(snapshot, names: parser.symbols.table.allNames, calendar: calendar)
            }
        }
    }
}
