/// Replays Nasdaq ITCH 5.0 messages into per-stock order books and the trades they print: an
/// execution at the order's price (`E`), at another price when printable (`C`), a non-displayed
/// trade (`P`) and a cross (`Q`). Pure logic over decoded messages; for recorded files.
public struct ITCH50Replay {
    public struct Trade: Sendable, Equatable {
        public var symbol: ExchangeSymbol
        /// Nanoseconds since midnight.
        public var timestamp: UInt64
        public var price: Price
        public var shares: Int64
        /// The resting order's side (the aggressor is the other), when known.
        public var side: TradeSide
        public var match: UInt64
    }

    public private(set) var symbols: [UInt16: ExchangeSymbol] = [:]
    public private(set) var books: [UInt16: OrderBook] = [:]
    /// Messages the books could not take (an unknown order, too many shares), counted by type.
    public private(set) var rejected: [UInt8: Int] = [:]

    public init() {}

    /// Applies one message; returns the trade it printed, if any.
    public mutating func apply(_ header: NasdaqITCH50.Header, _ message: NasdaqITCH50.Message) -> Trade? {
        let locate = header.stockLocate
        func trade(_ price: Price, _ shares: Int64, _ side: TradeSide, _ match: UInt64, _ symbol: ExchangeSymbol? = nil) -> Trade {
            Trade(symbol: symbol ?? symbols[locate] ?? ExchangeSymbol(""), timestamp: header.timestamp, price: price, shares: shares, side: side, match: match)
        }
        func side(_ s: OrderBook.Side) -> TradeSide { s == .bid ? .buy : .sell }
        do throws(OrderBook.Failure) {
            switch message {
            case .stockDirectory(let symbol, _, _):
                symbols[locate] = symbol
            case .addOrder(let reference, let s, let shares, _, let price, _):
                try books[locate, default: OrderBook()].add(order: reference, side: s == .buy ? .bid : .ask, price: price.units, quantity: Int64(shares))
            case .orderExecuted(let reference, let shares, let match):
                let r = try books[locate, default: OrderBook()].reduce(order: reference, by: Int64(shares))
                return trade(Price(units: r.price), Int64(shares), side(r.side), match)
            case .orderExecutedWithPrice(let reference, let shares, let match, let printable, let price):
                let r = try books[locate, default: OrderBook()].reduce(order: reference, by: Int64(shares))
                return printable ? trade(price, Int64(shares), side(r.side), match) : nil
            case .orderCancel(let reference, let shares):
                try books[locate, default: OrderBook()].reduce(order: reference, by: Int64(shares))
            case .orderDelete(let reference):
                try books[locate, default: OrderBook()].delete(order: reference)
            case .orderReplace(let original, let new, let shares, let price):
                try books[locate, default: OrderBook()].replace(order: original, with: new, price: price.units, quantity: Int64(shares))
            case .trade(_, let s, let shares, let symbol, let price, let match):
                return trade(price, Int64(shares), s, match, symbol)
            case .crossTrade(let shares, let symbol, let price, let match, _):
                return shares > 0 ? trade(price, Int64(shares), .unknown, match, symbol) : nil
            case .systemEvent, .tradingAction, .other:
                break
            }
        } catch {
            rejected[header.type, default: 0] += 1
        }
        return nil
    }
}
