import Synchronization

/// One instrument as an exchange feed's directory announces it (BIST ITCH `R`, with its `L` tick
/// size table); prices in the feed's integers with `priceDecimals`.
public struct ExchangeInstrument: Sendable, Equatable {
    public var feed: String
    public var orderBook: UInt32
    public var symbol: String
    public var isin: String
    public var priceDecimals: UInt16
    public var roundLot: UInt32
    public var tickSizes: [BISTOrderBooks.TickSizeBand]

    public init(feed: String, orderBook: UInt32, symbol: String, isin: String, priceDecimals: UInt16, roundLot: UInt32,
                tickSizes: [BISTOrderBooks.TickSizeBand]) {
        self.feed = feed
        self.orderBook = orderBook
        self.symbol = symbol
        self.isin = isin
        self.priceDecimals = priceDecimals
        self.roundLot = roundLot
        self.tickSizes = tickSizes
    }
}

/// Instruments exchange feeds announced, on their way to storage (`exchange_instruments`): the
/// reader threads post them as the directory arrives (the start of a session), the market data
/// module takes them and stores them, and a later start can take the stored instruments into its
/// symbol universe (`[market] symbols_from_exchange`).
public final class ExchangeDirectory: Sendable {
    private let pending = Mutex<[ExchangeInstrument]>([])

    public init() {}

    public func post(_ instrument: ExchangeInstrument) { pending.withLock { $0.append(instrument) } }

    /// Everything posted since the last take, the latest entry per feed and order book.
    public func take() -> [ExchangeInstrument] {
        let all = pending.withLock { p in
            defer { p.removeAll(keepingCapacity: true) }
            return p
        }
        var latest: [String: Int] = [:]
        for (i, e) in all.enumerated() { latest["\(e.feed)/\(e.orderBook)"] = i }
        return latest.values.sorted().map { all[$0] }
    }

    /// Puts entries back (their store failed); newer posts of the same instrument win.
    public func putBack(_ entries: [ExchangeInstrument]) { pending.withLock { $0.insert(contentsOf: entries, at: 0) } }
}
