/// The market as one BIST ITCH session tells it: instruments from `R` (symbol, price decimals) and
/// `L` (tick size bands), a full-depth `OrderBook` per instrument from `A`/`E`/`C`/`D`, and the
/// ticks that follow: a trade for each `E`, printable `C` and printable `P`, and a quote whenever
/// an instrument's best bid or best ask price changes.
///
/// Pure logic over decoded messages. Instruments outside the configured symbol universe are
/// followed (their books stay right) but make no ticks. After messages were lost the books are
/// marked stale: they make no quotes, since their top may be wrong, until the next session
/// starts them afresh.
public struct BISTOrderBooks {
    /// What `T.Second` counts from. The protocol text at hand does not settle it: Nasdaq's BIST
    /// ITCH 4.5 header calls it UTC seconds since 1970 (`epoch`, the default); `midnight` counts
    /// from midnight in Istanbul on the day the session started.
    public enum SecondsBase: String, Sendable, CaseIterable {
        case epoch, midnight
    }

    /// One band of an instrument's tick size table, in the feed's integer prices.
    public struct TickSizeBand: Sendable, Equatable {
        public var tickSize: UInt64
        public var from: UInt32
        public var to: UInt32
        public init(tickSize: UInt64, from: UInt32, to: UInt32) {
            self.tickSize = tickSize
            self.from = from
            self.to = to
        }
    }

    public struct Instrument: Sendable {
        /// Its OrderBookID.
        public let orderBook: UInt32
        public let name: ExchangeSymbol
        public let isin: ExchangeSymbol
        /// Its id in the configured universe; nil when the universe does not have it.
        public let symbol: SymbolID?
        public let priceDecimals: UInt16
        public let roundLot: UInt32
        /// Feed integer × this = `Price` units.
        let priceMultiplier: Int64
        public internal(set) var book = OrderBook()
        public internal(set) var tickSizes: [TickSizeBand] = []
        public internal(set) var stale = false
        var quotedBid: Int64 = 0
        var quotedAsk: Int64 = 0
        /// Exchange time of the book's last change.
        public internal(set) var changedAt: Int64 = 0
        /// Changed since `takeChanged` last saw it.
        var dirty = false
        /// Its top moved while it was stale: the quote is due when it is fresh again.
        var owesQuote = false
        /// Its directory entry (`R`, `L`) changed since `takeDirectoryChanges` last saw it.
        var directoryDirty = false

        /// The feed's integer price as an exact `Price`.
        public func price(_ raw: Int64) -> Price { Price(units: raw * priceMultiplier) }

        /// Its `L` table in `Price`; nil before any `L` (or for a table that is not one).
        public var tickSizeTable: TickSizeTable? { TickSizeTable(exchange: tickSizes, priceDecimals: priceDecimals) }
    }

    public struct Stats: Sendable, Equatable {
        public var messages: UInt64 = 0
        public var trades: UInt64 = 0
        public var quotes: UInt64 = 0
        /// Messages for an order book no `R` message announced.
        public var unknownBooks: UInt64 = 0
        /// Instruments announced whose symbol is not in the configured universe.
        public var outsideUniverse: UInt64 = 0
        /// Order messages the book could not take (an unknown order id, more shares than rest).
        public var bookRejects: UInt64 = 0
        /// Messages whose price or quantity cannot make a valid tick.
        public var badValues: UInt64 = 0
        public init() {}
    }

    /// The universe at the start; announced instruments not in it are outside it, unless `joining`
    /// is set: then they join that (the daemon's, which `symbols` is a prefix of).
    public let symbols: SymbolTable
    public let joining: SymbolUniverse?
    public let feed: UInt16
    public let secondsBase: SecondsBase
    /// Instruments in the order announced; `index` finds one by order book id.
    public private(set) var instruments: [Instrument] = []
    private var index: [UInt32: Int] = [:]
    /// Instruments (in the universe) whose book changed since `takeChanged`.
    private var changed: [Int] = []
    /// Instruments whose directory entry changed since `takeDirectoryChanges`.
    private var directoryChanged: [Int] = []
    public private(set) var stats = Stats()
    /// Names of the instruments announced this session that the universe does not have, in order.
    public private(set) var outsideNames: [String] = []
    /// Names of the instruments this feed's directory added to the universe (`joining`), in order.
    public private(set) var joinedNames: [String] = []
    /// UTC ns that `T.Second` counts from.
    private var base: Int64 = 0
    private var second: Int64 = 0

    public init(symbols: SymbolTable, joining: SymbolUniverse? = nil, feed: UInt16, secondsBase: SecondsBase = .epoch) {
        self.symbols = symbols
        self.joining = joining
        self.feed = feed
        self.secondsBase = secondsBase
    }

    /// A new session: every instrument and order is forgotten. `now` (UTC ns) fixes the day
    /// that `midnight` seconds count from.
    public mutating func startSession(now: Int64) {
        instruments.removeAll(keepingCapacity: true)
        staleCount = 0
        index.removeAll(keepingCapacity: true)
        changed.removeAll(keepingCapacity: true)
        directoryChanged.removeAll(keepingCapacity: true)
        outsideNames.removeAll()
        second = 0
        switch secondsBase {
        case .epoch: base = 0
        case .midnight:
            let seconds = now / UTCTime.nanosPerSecond
            let offset = Int64(BISTMarket.istanbulUTCOffsetSeconds(atUTCSeconds: seconds))
            base = ((seconds + offset) / 86_400 * 86_400 - offset) * UTCTime.nanosPerSecond
        }
    }

    /// Messages were lost: no book can be trusted any more.
    public mutating func markAllStale() {
        for i in instruments.indices { instruments[i].stale = true }
        staleCount = instruments.count
    }

    /// The best `levels` of each book that changed since the last call (instruments in the universe,
    /// not stale), in `Price`; then none is changed.
    public mutating func takeChanged(levels: Int, _ body: (DepthSnapshot) -> Void) {
        for i in changed {
            instruments[i].dirty = false
            guard let symbol = instruments[i].symbol, !instruments[i].stale else { continue }
            let instrument = instruments[i]
            let (bids, asks) = instrument.book.depth(levels)
            body(DepthSnapshot(symbol: symbol, time: instrument.changedAt,
                               bids: bids.map { .init(price: instrument.price($0.price), quantity: $0.quantity, orders: $0.orders) },
                               asks: asks.map { .init(price: instrument.price($0.price), quantity: $0.quantity, orders: $0.orders) }))
        }
        changed.removeAll(keepingCapacity: true)
    }

    /// The books can be trusted again (the feed was only silent, and nothing went missing): each
    /// instrument whose top moved meanwhile quotes it now.
    public mutating func markAllFresh(receiveTime: Int64, emit: (Tick) -> Void) {
        staleCount = 0
        for i in instruments.indices where instruments[i].stale {
            instruments[i].stale = false
            guard instruments[i].owesQuote else { continue }
            instruments[i].owesQuote = false
            quote(i, exchangeTime: instruments[i].changedAt, receiveTime: receiveTime, emit: emit)
        }
    }

    /// The instrument with this order book id.
    public func instrument(_ book: UInt32) -> Instrument? { index[book].map { instruments[$0] } }

    /// How many instruments are stale (those announced after a loss start with clean books).
    public private(set) var staleCount = 0

    public var staleSymbols: [SymbolID] { instruments.filter(\.stale).compactMap(\.symbol).sorted() }

    /// The names of `staleSymbols`, in the same order.
    public var staleNames: [String] {
        instruments.filter { $0.stale && $0.symbol != nil }.sorted { $0.symbol! < $1.symbol! }.map(\.name.text)
    }

    /// Decodes and applies the one message `bytes` holds; a message that does not decode is
    /// returned as the error and changes nothing.
    @inline(__always)
    public mutating func apply(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64, emit: (Tick) -> Void) -> FrameError? {
        switch BISTITCH.decode(bytes) {
        case .success(let m):
            apply(m, receiveTime: receiveTime, emit: emit)
            return nil
        case .failure(let error):
            return error
        }
    }

    /// Applies one message; `emit` gets each tick it makes (`receiveTime` stamped on them).
    @inline(__always)
    public mutating func apply(_ message: BISTITCH.Message, receiveTime: Int64, emit: (Tick) -> Void) {
        stats.messages += 1
        switch message {
        case .seconds(let s):
            second = Int64(s)
        case .orderBookDirectory(_, let book, let name, let isin, _, let decimals, _, _, let roundLot, _):
            register(book: book, name: name, isin: isin, priceDecimals: decimals, roundLot: roundLot)
        case .tickSize(_, let book, let size, let from, let to):
            guard let i = index[book] else { stats.unknownBooks += 1; return }
            instruments[i].tickSizes.append(TickSizeBand(tickSize: size, from: from, to: to))
            noteDirectoryChange(i)
        case .addOrder(let nanos, let order, let book, let side, _, let quantity, let price, _, _, _):
            update(book, nanos: nanos, receiveTime: receiveTime, emit: emit) { b throws(OrderBook.Failure) in
                try b.add(order: order, side: side == .buy ? .bid : .ask, price: Int64(price), quantity: Self.shares(quantity))
                return nil
            }
        case .orderExecuted(let nanos, let order, let book, _, let quantity, _, _):
            update(book, nanos: nanos, receiveTime: receiveTime, emit: emit) { b throws(OrderBook.Failure) in
                let r = try b.reduce(order: order, by: Self.shares(quantity))
                return (r.price, Self.shares(quantity), r.side)
            }
        case .orderExecutedWithPrice(let nanos, let order, let book, _, let quantity, _, _, let price, _, let printable):
            update(book, nanos: nanos, receiveTime: receiveTime, emit: emit) { b throws(OrderBook.Failure) in
                let r = try b.reduce(order: order, by: Self.shares(quantity))
                return printable ? (Int64(price), Self.shares(quantity), r.side) : nil
            }
        case .orderDelete(let nanos, let order, let book, _):
            update(book, nanos: nanos, receiveTime: receiveTime, emit: emit) { b throws(OrderBook.Failure) in
                try b.delete(order: order)
                return nil
            }
        case .trade(let nanos, _, _, _, let quantity, let book, let price, let printable, _):
            guard printable else { return }
            guard let i = index[book] else { stats.unknownBooks += 1; return }
            let instrument = instruments[i]
            guard let symbol = instrument.symbol else { return }
            trade(symbol, instrument.price(Int64(price)), Self.shares(quantity), .unknown, nanos: nanos, receiveTime: receiveTime, emit: emit)
        case .systemEvent, .orderBookState, .equilibrium, .other:
            break
        }
    }

    private static func shares(_ quantity: UInt64) -> Int64 { Int64(truncatingIfNeeded: min(quantity, UInt64(Int64.max))) }

    private mutating func noteDirectoryChange(_ i: Int) {
        guard !instruments[i].directoryDirty else { return }
        instruments[i].directoryDirty = true
        directoryChanged.append(i)
    }

    /// Whether an instrument was announced or its tick size table grew since the last take.
    public var hasDirectoryChanges: Bool { !directoryChanged.isEmpty }

    /// Each instrument announced, or whose tick size table grew, since the last call.
    public mutating func takeDirectoryChanges(_ body: (Instrument) -> Void) {
        for i in directoryChanged {
            instruments[i].directoryDirty = false
            body(instruments[i])
        }
        directoryChanged.removeAll(keepingCapacity: true)
    }

    private mutating func register(book: UInt32, name: ExchangeSymbol, isin: ExchangeSymbol, priceDecimals: UInt16, roundLot: UInt32) {
        var text = name.text
        var symbol = text.withUTF8 { symbols.id(forASCII: UnsafeRawBufferPointer($0)) }
        if symbol == nil, let joining {
            // Not a valid symbol name, or the universe is full: it stays outside.
            if let (id, isNew) = try? joining.join(text) {
                symbol = id
                if isNew { joinedNames.append(text) }
            }
        }
        if symbol == nil {
            stats.outsideUniverse += 1
            outsideNames.append(text)
        }
        guard let multiplier = Price.unitsPerUnit(decimals: priceDecimals) else {
            // Finer than `Price` can hold exactly: followed as outside the universe.
            stats.badValues += 1
            put(book, Instrument(orderBook: book, name: name, isin: isin, symbol: nil, priceDecimals: priceDecimals, roundLot: roundLot, priceMultiplier: 0))
            return
        }
        put(book, Instrument(orderBook: book, name: name, isin: isin, symbol: symbol, priceDecimals: priceDecimals, roundLot: roundLot, priceMultiplier: multiplier))
    }

    /// An order book id announced again (ids of expired instruments may be reused) replaces the old one.
    private mutating func put(_ book: UInt32, _ instrument: Instrument) {
        if let i = index[book] {
            if instruments[i].stale { staleCount -= 1 }
            let dirty = instruments[i].directoryDirty
            instruments[i] = instrument
            instruments[i].directoryDirty = dirty
            noteDirectoryChange(i)
        } else {
            index[book] = instruments.count
            instruments.append(instrument)
            noteDirectoryChange(instruments.count - 1)
        }
    }

    /// Changes one instrument's book; `change` returns the trade it printed, if any (price in the
    /// feed's integers, shares, the resting order's side). Then a quote follows if the top moved.
    @inline(__always)
    private mutating func update(
        _ key: UInt32, nanos: UInt32, receiveTime: Int64, emit: (Tick) -> Void,
        _ change: (inout OrderBook) throws(OrderBook.Failure) -> (price: Int64, shares: Int64, resting: OrderBook.Side)?
    ) {
        guard let i = index[key] else { stats.unknownBooks += 1; return }
        let printed: (price: Int64, shares: Int64, resting: OrderBook.Side)?
        do { printed = try change(&instruments[i].book) } catch {
            stats.bookRejects += 1
            return
        }
        guard let symbol = instruments[i].symbol else { return }
        instruments[i].changedAt = time(nanos)
        if !instruments[i].dirty {
            instruments[i].dirty = true
            changed.append(i)
        }
        if let printed {
            // The resting order's side is the passive one: the aggressor took the other.
            trade(symbol, instruments[i].price(printed.price), printed.shares, printed.resting == .bid ? .sell : .buy,
                  nanos: nanos, receiveTime: receiveTime, emit: emit)
        }
        let bid = instruments[i].book.bestBid?.price ?? 0, ask = instruments[i].book.bestAsk?.price ?? 0
        guard bid != instruments[i].quotedBid || ask != instruments[i].quotedAsk else { return }
        instruments[i].quotedBid = bid
        instruments[i].quotedAsk = ask
        if instruments[i].stale {
            instruments[i].owesQuote = true
            return
        }
        quote(i, exchangeTime: time(nanos), receiveTime: receiveTime, emit: emit)
    }

    /// The instrument's quoted top as a quote tick (none for an instrument outside the universe,
    /// or a book empty on both sides).
    private mutating func quote(_ i: Int, exchangeTime: Int64, receiveTime: Int64, emit: (Tick) -> Void) {
        let bid = instruments[i].quotedBid, ask = instruments[i].quotedAsk
        guard let symbol = instruments[i].symbol, bid > 0 || ask > 0 else { return }
        stats.quotes += 1
        emit(Tick(symbol: symbol, kind: .quote, price: .zero, quantity: 0, bid: instruments[i].price(max(bid, 0)), ask: instruments[i].price(max(ask, 0)),
                  exchangeTime: exchangeTime, receiveTime: receiveTime, feed: feed))
    }

    private mutating func trade(_ symbol: SymbolID, _ price: Price, _ shares: Int64, _ side: TradeSide, nanos: UInt32, receiveTime: Int64,
                                emit: (Tick) -> Void) {
        guard price.units > 0, shares > 0 else { stats.badValues += 1; return }
        stats.trades += 1
        emit(Tick(symbol: symbol, kind: .trade, side: side, price: price, quantity: shares, exchangeTime: time(nanos), receiveTime: receiveTime, feed: feed))
    }

    @inline(__always)
    private func time(_ nanos: UInt32) -> Int64 { base + second * UTCTime.nanosPerSecond + Int64(nanos) }
}
