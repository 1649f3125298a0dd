import Foundation
import Ingest

/// Turns the messages of AlgoLab's market-data WebSocket into ticks and order updates. Pure: no
/// I/O, no clock; the feed around it stamps sequence numbers and hands the ticks on.
///
/// - `T` (a trade) becomes a trade tick: price, `TradeQuantity` shares, `Direction` B/S as the
///   aggressor side, `Bid`/`Ask` when not zero, `Date` (with its offset) as exchange time.
/// - `D` (a depth row) at `Row` 0 updates the symbol's top of book and becomes a quote tick with
///   both sides known so far; deeper rows are counted and left (only the top of book is kept).
/// - `O` (an order of the account changed) becomes an `AlgoLabOrderUpdate`.
/// - Any other `Type` is reported as unknown, not as an error: AlgoLab may add types.
///
/// Prices are JSON numbers read straight from their text to 10⁻⁶ lira, never through a Double.
/// Keys are matched in any case, as AlgoLab's REST replies vary theirs.
public struct AlgoLabStreamDecoder: Sendable {
    public enum Message: Sendable, Equatable {
        case tick(Tick)
        /// A depth row below the top of book.
        case deeperDepth
        case order(AlgoLabOrderUpdate)
        /// A message of a type this decoder does not know, named.
        case unknown(type: String)
    }

    public let symbols: SymbolTable
    public let feed: UInt16
    /// Per symbol: the best bid and ask seen (zero until one arrives).
    private var bids: [Price]
    private var asks: [Price]

    public init(symbols: SymbolTable, feed: UInt16) {
        self.symbols = symbols
        self.feed = feed
        bids = Array(repeating: .zero, count: symbols.count)
        asks = bids
    }

    /// Decodes one WebSocket text message. `receiveTime` is stamped on ticks.
    public mutating func decode(_ text: UnsafeRawBufferPointer, receiveTime: Int64) -> Result<Message, FrameError> {
        var type: Range<Int>?
        var content: Range<Int>?
        let failure = JSONScanner.read(text) { s in
            try s.expect(UInt8(ascii: "{"))
            try s.objectMembers { s, key in
                if s.keyEqualsIgnoringCase(key, "type") {
                    guard type == nil else { throw FrameError.badJSON("duplicate key 'Type'") }
                    type = try s.string(field: "Type")
                } else if s.keyEqualsIgnoringCase(key, "content") {
                    guard content == nil else { throw FrameError.badJSON("duplicate key 'Content'") }
                    let start = s.i
                    try s.skipValue(depth: 1)
                    content = start..<s.i
                } else {
                    try s.skipValue(depth: 1)
                }
            }
        }
        if let failure { return .failure(failure) }
        let s = JSONScanner(text)
        guard let type else { return .failure(.badJSON("missing key 'Type'")) }
        guard let content else { return .failure(.badJSON("missing key 'Content'")) }
        let body = UnsafeRawBufferPointer(rebasing: text[content])
        if s.bytesEqual(type, "T") { return trade(body, receiveTime: receiveTime).map { .tick($0) } }
        if s.bytesEqual(type, "D") { return depth(body, receiveTime: receiveTime) }
        if s.bytesEqual(type, "O") { return AlgoLabOrderUpdate.decode(body).map { .order($0) } }
        return .success(.unknown(type: String(decoding: text[type], as: UTF8.self)))
    }

    private func trade(_ b: UnsafeRawBufferPointer, receiveTime: Int64) -> Result<Tick, FrameError> {
        var f = Fields()
        if let error = f.read(b) { return .failure(error) }
        guard let price = f.price else { return .failure(.badJSON("missing key 'Content.Price'")) }
        guard let quantity = f.quantity else { return .failure(.badJSON("missing key 'Content.TradeQuantity'")) }
        // The aggressor side is extra information: a value other than B or S leaves it unknown.
        let side: TradeSide = f.direction.map { r in
            b[r].elementsEqual("B".utf8) ? .buy : b[r].elementsEqual("S".utf8) ? .sell : .unknown
        } ?? .unknown
        return f.tick(b, kind: .trade, side: side, price: Price(units: price), quantity: quantity,
                      bid: Price(units: f.bid ?? 0), ask: Price(units: f.ask ?? 0), receiveTime: receiveTime, decoder: self)
    }

    private mutating func depth(_ b: UnsafeRawBufferPointer, receiveTime: Int64) -> Result<Message, FrameError> {
        var f = Fields()
        if let error = f.read(b) { return .failure(error) }
        guard let row = f.row else { return .failure(.badJSON("missing key 'Content.Row'")) }
        guard row == 0 else {
            guard row > 0 else { return .failure(.badField(name: "Row", reason: "must not be negative")) }
            return .success(.deeperDepth)
        }
        guard let price = f.price else { return .failure(.badJSON("missing key 'Content.Price'")) }
        guard price >= 0 else { return .failure(.nonPositivePrice(field: "Price", value: Price(units: price).description)) }
        guard let direction = f.direction else { return .failure(.badJSON("missing key 'Content.Direction'")) }
        guard let symbol = f.symbolID(b, symbols: symbols) else { return .failure(f.symbolError(b, symbols: symbols)) }
        let d = b[direction]
        if d.elementsEqual("B".utf8) {
            bids[Int(symbol.rawValue)] = Price(units: price)
        } else if d.elementsEqual("S".utf8) || d.elementsEqual("A".utf8) {
            asks[Int(symbol.rawValue)] = Price(units: price)
        } else {
            return .failure(.badField(name: "Direction", reason: "expected \"B\" (bid) or \"S\"/\"A\" (ask), got \(Sanitized(bytes: d))"))
        }
        let bid = bids[Int(symbol.rawValue)], ask = asks[Int(symbol.rawValue)]
        guard bid.units > 0 || ask.units > 0 else { return .success(.deeperDepth) }
        return f.tick(b, kind: .quote, side: .unknown, price: .zero, quantity: 0, bid: bid, ask: ask, receiveTime: receiveTime, decoder: self)
            .map { .tick($0) }
    }

    /// The members of a T or D content this decoder reads, in any order and case.
    private struct Fields {
        var symbol: Range<Int>?
        var price: Int64?
        var quantity: Int64?
        var bid: Int64?
        var ask: Int64?
        var date: Range<Int>?
        var direction: Range<Int>?
        var row: Int64?

        mutating func read(_ b: UnsafeRawBufferPointer) -> FrameError? {
            JSONScanner.read(b) { s in
                try s.expect(UInt8(ascii: "{"))
                try s.objectMembers { s, key in
                    if s.keyEqualsIgnoringCase(key, "symbol") { symbol = try s.string(field: "Symbol") }
                    else if s.keyEqualsIgnoringCase(key, "price") { price = try s.decimal(field: "Price", scale: Price.scale) }
                    else if s.keyEqualsIgnoringCase(key, "tradequantity") { quantity = try s.decimal(field: "TradeQuantity", scale: 0) }
                    else if s.keyEqualsIgnoringCase(key, "bid") { bid = try s.decimal(field: "Bid", scale: Price.scale) }
                    else if s.keyEqualsIgnoringCase(key, "ask") { ask = try s.decimal(field: "Ask", scale: Price.scale) }
                    else if s.keyEqualsIgnoringCase(key, "date") { date = try s.string(field: "Date") }
                    else if s.keyEqualsIgnoringCase(key, "direction") { direction = try s.string(field: "Direction") }
                    else if s.keyEqualsIgnoringCase(key, "row") { row = try s.decimal(field: "Row", scale: 0) }
                    else { try s.skipValue(depth: 2) }
                }
            }
        }

        func symbolID(_ b: UnsafeRawBufferPointer, symbols: SymbolTable) -> SymbolID? {
            symbol.flatMap { symbols.id(forASCII: UnsafeRawBufferPointer(rebasing: b[$0])) }
        }

        func symbolError(_ b: UnsafeRawBufferPointer, symbols: SymbolTable) -> FrameError {
            guard let symbol else { return .badJSON("missing key 'Content.Symbol'") }
            let bytes = UnsafeRawBufferPointer(rebasing: b[symbol])
            let text = Sanitized(bytes: bytes).description
            return SymbolTable.isValid(bytes) ? .unknownSymbol(text) : .badSymbol(text)
        }

        func tick(_ b: UnsafeRawBufferPointer, kind: TickKind, side: TradeSide, price: Price, quantity: Int64, bid: Price, ask: Price,
                  receiveTime: Int64, decoder: AlgoLabStreamDecoder) -> Result<Tick, FrameError> {
            guard let id = symbolID(b, symbols: decoder.symbols) else { return .failure(symbolError(b, symbols: decoder.symbols)) }
            guard let date else { return .failure(.badJSON("missing key 'Content.Date'")) }
            guard let time = UTCTime.parseISO8601(UnsafeRawBufferPointer(rebasing: b[date])) else {
                return .failure(.badTimestamp("\(Sanitized(bytes: b[date])) is not an ISO-8601 time with an offset such as 2024-09-25T14:46:35+03:00"))
            }
            let tick = Tick(symbol: id, kind: kind, side: side, price: price, quantity: quantity, bid: bid, ask: ask,
                            exchangeTime: time, receiveTime: receiveTime, feed: decoder.feed)
            if let error = TickValidation.check(tick) { return .failure(error) }
            return .success(tick)
        }
    }
}
