import Aggregator
import Ingest

/// The market as the aggregator last published it: a symbol is known when the universe has it
/// (configured, or seen on a feed), and its quote is the day's statistics.
public struct LatestPricesMarket: MarketView {
    let universe: SymbolUniverse
    let latest: LatestPrices

    public init(universe: SymbolUniverse, latest: LatestPrices) {
        self.universe = universe
        self.latest = latest
    }

    public func quote(for symbol: String) -> MarketQuote? {
        guard let id = universe.id(for: symbol) else { return nil }
        let snapshot = latest.snapshot([id])
        guard let statistics = snapshot.symbols.first else { return MarketQuote() }
        let today = snapshot.tradingDay.map { statistics.tradingDay == $0.day } ?? false
        return MarketQuote(previousClose: statistics.previousClose, firstPriceToday: today ? statistics.open : nil,
                           lastPrice: today ? statistics.lastPrice : nil, latestPrice: statistics.lastPrice ?? statistics.previousClose)
    }
}
