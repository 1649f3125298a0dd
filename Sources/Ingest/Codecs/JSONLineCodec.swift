/// Newline-delimited JSON in the reference document's market tick shape:
///
/// ```
/// {"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":15.75,"volume":10000,
///  "timestamp":"2024-09-24T10:30:00.000Z","bidPrice":15.74,"askPrice":15.76}}
/// ```
///
/// Extensions (optional): `sequence` (integer), `side` (`"BUY"`/`"SELL"`), `kind`
/// (`"TRADE"` default, or `"QUOTE"`). Unknown keys are ignored but must be valid JSON; duplicate
/// known keys are rejected. Numbers are read as exact decimals, never through `Double`.
public enum JSONLineCodec: FeedCodec {
    public static func decode(_ b: UnsafeRawBufferPointer, receiveTime: Int64, context: DecodeContext) -> DecodeStep {
        guard let newline = b.firstIndex(of: UInt8(ascii: "\n")) else {
            if b.count > context.maximumFrameBytes {
                return .invalidThroughNextNewline(.oversized(length: b.count, limit: context.maximumFrameBytes))
            }
            return .needMore
        }
        let consumed = newline + 1
        if newline > context.maximumFrameBytes {
            return .invalid(.oversized(length: newline, limit: context.maximumFrameBytes), skip: consumed)
        }
        var end = newline
        if end > 0 && b[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: b[0..<end])
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .skip(consumed) }
        switch parse(line, receiveTime: receiveTime, context: context) {
        case .success(let tick): return .tick(tick, consumed: consumed)
        case .failure(let error): return .invalid(error, skip: consumed)
        }
    }

    static func parse(_ line: UnsafeRawBufferPointer, receiveTime: Int64, context: DecodeContext) -> Result<Tick, FrameError> {
        var type: Range<Int>?
        var fields = TickFields()
        let failure = JSONScanner.read(line) { s in
            try s.expect(UInt8(ascii: "{"))
            try s.objectMembers { s, key in
                if s.keyEquals(key, "type") {
                    guard type == nil else { throw FrameError.badJSON("duplicate key 'type'") }
                    type = try s.string(field: "type")
                } else if s.keyEquals(key, "data") {
                    guard !fields.seenData else { throw FrameError.badJSON("duplicate key 'data'") }
                    fields.seenData = true
                    try s.expect(UInt8(ascii: "{"))
                    try s.objectMembers { s, key in try fields.read(key: key, from: &s) }
                } else {
                    try s.skipValue(depth: 0)
                }
            }
        }
        if let failure { return .failure(failure) }
        let s = JSONScanner(line)
        guard let type else { return .failure(.badJSON("missing key 'type'")) }
        guard s.bytesEqual(type, "MARKET_TICK") else {
            return .failure(.badField(name: "type", reason: "expected \"MARKET_TICK\", got \(Sanitized(bytes: line[type]))"))
        }
        guard fields.seenData else { return .failure(.badJSON("missing key 'data'")) }
        return fields.makeTick(line: line, receiveTime: receiveTime, context: context)
    }

    public static func encode(_ tick: Tick, symbols: SymbolTable, into out: inout [UInt8]) {
        func key(_ k: StaticString) {
            out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\"")); out.append(UInt8(ascii: ":"))
        }
        out += Array(#"{"type":"MARKET_TICK","data":{"symbol":""#.utf8)
        out += Array(symbols.name(of: tick.symbol).utf8)
        out.append(UInt8(ascii: "\""))
        if tick.price.units != 0 { key("price"); ScaledDecimal.append(tick.price.units, scale: Price.scale, to: &out) }
        if tick.kind == .trade || tick.quantity != 0 { key("volume"); ScaledDecimal.append(tick.quantity, scale: 0, to: &out) }
        key("timestamp"); out.append(UInt8(ascii: "\"")); UTCTime.appendISO8601(tick.exchangeTime, to: &out); out.append(UInt8(ascii: "\""))
        if tick.bid.units != 0 { key("bidPrice"); ScaledDecimal.append(tick.bid.units, scale: Price.scale, to: &out) }
        if tick.ask.units != 0 { key("askPrice"); ScaledDecimal.append(tick.ask.units, scale: Price.scale, to: &out) }
        if tick.sequence != 0 { key("sequence"); ScaledDecimal.appendDigits(tick.sequence, to: &out) }
        switch tick.side {
        case .buy: key("side"); out += Array(#""BUY""#.utf8)
        case .sell: key("side"); out += Array(#""SELL""#.utf8)
        case .unknown: break
        }
        if tick.kind == .quote { key("kind"); out += Array(#""QUOTE""#.utf8) }
        out += Array("}}\n".utf8)
    }
}

/// The `data` members of a market tick line, collected in any order.
private struct TickFields {
    var seenData = false
    var symbol: Range<Int>?
    var price: Int64?
    var volume: Int64?
    var timestamp: Range<Int>?
    var bid: Int64?
    var ask: Int64?
    var sequence: UInt64?
    var side: TradeSide?
    var kind: TickKind?
    private var seen: UInt16 = 0
    private static let names = ["symbol", "price", "volume", "timestamp", "bidPrice", "askPrice", "sequence", "side", "kind"]

    mutating func read(key: Range<Int>, from s: inout JSONScanner) throws {
        func once(_ name: String) throws -> String {
            let bit: UInt16 = 1 << UInt16(Self.names.firstIndex(of: name)!)
            guard seen & bit == 0 else { throw FrameError.badJSON("duplicate key '\(name)'") }
            seen |= bit
            return name
        }
        if s.keyEquals(key, "symbol") { symbol = try s.string(field: try once("symbol")) }
        else if s.keyEquals(key, "price") { price = try s.decimal(field: try once("price"), scale: Price.scale) }
        else if s.keyEquals(key, "volume") { volume = try s.decimal(field: try once("volume"), scale: 0) }
        else if s.keyEquals(key, "timestamp") { timestamp = try s.string(field: try once("timestamp")) }
        else if s.keyEquals(key, "bidPrice") { bid = try s.decimal(field: try once("bidPrice"), scale: Price.scale) }
        else if s.keyEquals(key, "askPrice") { ask = try s.decimal(field: try once("askPrice"), scale: Price.scale) }
        else if s.keyEquals(key, "sequence") {
            guard let v = try s.decimal(field: try once("sequence"), scale: 0) else { return }
            guard v >= 0 else { throw FrameError.badField(name: "sequence", reason: "must not be negative") }
            sequence = UInt64(v)
        } else if s.keyEquals(key, "side") {
            guard let r = try s.string(field: try once("side")) else { return }
            if s.bytesEqual(r, "BUY") { side = .buy }
            else if s.bytesEqual(r, "SELL") { side = .sell }
            else { throw FrameError.badField(name: "side", reason: "expected \"BUY\" or \"SELL\", got \(Sanitized(bytes: s.b[r]))") }
        } else if s.keyEquals(key, "kind") {
            guard let r = try s.string(field: try once("kind")) else { return }
            if s.bytesEqual(r, "TRADE") { kind = .trade }
            else if s.bytesEqual(r, "QUOTE") { kind = .quote }
            else { throw FrameError.badField(name: "kind", reason: "expected \"TRADE\" or \"QUOTE\", got \(Sanitized(bytes: s.b[r]))") }
        } else {
            try s.skipValue(depth: 1)
        }
    }

    func makeTick(line: UnsafeRawBufferPointer, receiveTime: Int64, context: DecodeContext) -> Result<Tick, FrameError> {
        guard let symbol else { return .failure(.badJSON("missing key 'data.symbol'")) }
        let symbolBytes = UnsafeRawBufferPointer(rebasing: line[symbol])
        guard let id = context.symbols.id(forASCII: symbolBytes) else {
            let text = Sanitized(bytes: symbolBytes).description
            return .failure(SymbolTable.isValid(symbolBytes) ? .unknownSymbol(text) : .badSymbol(text))
        }
        guard let timestamp else { return .failure(.badJSON("missing key 'data.timestamp'")) }
        guard let time = UTCTime.parseISO8601(UnsafeRawBufferPointer(rebasing: line[timestamp])) else {
            return .failure(.badTimestamp("\(Sanitized(bytes: line[timestamp])) is not an ISO-8601 UTC time such as 2024-09-24T10:30:00.000Z"))
        }
        let kind = kind ?? .trade
        if kind == .trade {
            guard price != nil else { return .failure(.badJSON("missing key 'data.price'")) }
            guard volume != nil else { return .failure(.badJSON("missing key 'data.volume'")) }
        }
        let tick = Tick(symbol: id, kind: kind, side: side ?? .unknown, price: Price(units: price ?? 0),
                        quantity: volume ?? 0, bid: Price(units: bid ?? 0), ask: Price(units: ask ?? 0),
                        exchangeTime: time, receiveTime: receiveTime, sequence: sequence ?? 0, feed: context.feed)
        if let error = TickValidation.check(tick) { return .failure(error) }
        return .success(tick)
    }
}
