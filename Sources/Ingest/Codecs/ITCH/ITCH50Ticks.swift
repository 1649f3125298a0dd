import Foundation

/// Turns recorded Nasdaq ITCH 5.0 messages into Akis ticks, so that public recordings can be
/// imported and benchmarked: the trades `ITCH50Replay` prints, and a quote whenever a stock's
/// best bid or best ask price changes. Symbols come from the file's stock directory (`R`); one
/// Akis cannot hold (a space in it, more than 8 characters) is skipped with its stock's messages.
/// Times are the file's nanoseconds since midnight, from the midnight given (UTC ns).
public struct ITCH50Ticks {
    public struct Stats: Sendable, Equatable {
        public var messages = 0
        public var trades = 0
        public var quotes = 0
        /// Messages of stocks whose symbol was skipped.
        public var skipped = 0
        /// Trades or quotes that are not valid ticks (a zero price).
        public var invalid = 0
    }

    public private(set) var symbols = SymbolTable()
    /// Symbols of the file that are not valid Akis symbols.
    public private(set) var skippedSymbols: [String] = []
    public private(set) var replay = ITCH50Replay()
    public private(set) var stats = Stats()
    public let midnight: Int64
    private var ids: [UInt16: SymbolID] = [:]
    private var quoted: [UInt16: (bid: Int64, ask: Int64)] = [:]

    public init(midnight: Int64) { self.midnight = midnight }

    /// Midnight in `timeZone` (an IANA name; Nasdaq's is America/New_York) on a date, in UTC ns;
    /// nil for an unknown zone or a date that does not exist.
    public static func midnight(year: Int, month: Int, day: Int, timeZone: String) -> Int64? {
        guard let zone = TimeZone(identifier: timeZone), (1...12).contains(month), day >= 1, day <= UTCTime.daysInMonth(year: year, month: month) else {
            return nil
        }
        let utcMidnight = Int64(UTCTime.daysFromCivil(year: year, month: month, day: day)) * 86_400
        // The offset at local midnight: try the offset at UTC midnight, then correct once.
        var offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcMidnight))))
        offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcMidnight - offset))))
        return (utcMidnight - offset) * UTCTime.nanosPerSecond
    }

    /// Applies one message (its bytes, type first); `emit` gets the ticks it makes.
    public mutating func apply(_ bytes: UnsafeRawBufferPointer, emit: (Tick) -> Void) -> FrameError? {
        let message: NasdaqITCH50.Message
        switch NasdaqITCH50.decode(bytes) {
        case .success(let m): message = m
        case .failure(let e): return e
        }
        let header = NasdaqITCH50.header(bytes)
        stats.messages += 1
        if case .stockDirectory(let symbol, _, _) = message {
            do { ids[header.stockLocate] = try symbols.intern(symbol.text) } catch { skippedSymbols.append(symbol.text) }
        }
        let trade = replay.apply(header, message)
        guard header.stockLocate != 0 else { return nil }
        guard let id = ids[header.stockLocate] else {
            stats.skipped += 1
            return nil
        }
        let time = midnight + Int64(header.timestamp)
        if let trade {
            // The trade's side is the resting order's: the aggressor took the other.
            let side: TradeSide = trade.side == .buy ? .sell : trade.side == .sell ? .buy : .unknown
            let tick = Tick(symbol: id, kind: .trade, side: side, price: trade.price, quantity: trade.shares, exchangeTime: time)
            if TickValidation.check(tick) == nil {
                stats.trades += 1
                emit(tick)
            } else {
                stats.invalid += 1
            }
        }
        guard let book = replay.books[header.stockLocate] else { return nil }
        let bid = book.bestBid?.price ?? 0, ask = book.bestAsk?.price ?? 0
        let last = quoted[header.stockLocate] ?? (0, 0)
        guard bid != last.bid || ask != last.ask else { return nil }
        quoted[header.stockLocate] = (bid, ask)
        guard bid > 0 || ask > 0 else { return nil }
        stats.quotes += 1
        emit(Tick(symbol: id, kind: .quote, price: .zero, quantity: 0, bid: Price(units: max(bid, 0)), ask: Price(units: max(ask, 0)), exchangeTime: time))
        return nil
    }
}
