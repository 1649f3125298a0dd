/// Akis binary frames: our own compact, versioned, little-endian format (see docs/feed-formats.md).
///
/// ```
/// header (6 bytes): magic 0xA5 0x4B | version u8 | message type u8 | body length u16
/// v1 body (64 bytes): sequence u64 | exchange time i64 ns | price i64 | quantity i64 |
///                     bid i64 | ask i64 | side u8 | symbol length u8 | symbol [12] | reserved u16
/// ```
public enum BinaryFrameCodec: FeedCodec {
    public static let magic: (UInt8, UInt8) = (0xA5, 0x4B)
    public static let version: UInt8 = 1
    public static let headerSize = 6
    public static let bodySizeV1 = 64
    public static let frameSizeV1 = headerSize + bodySizeV1

    public static func decode(_ b: UnsafeRawBufferPointer, receiveTime: Int64, context: DecodeContext) -> DecodeStep {
        guard b.count >= headerSize else {
            // A partial header is only worth waiting for if what we have could start a frame.
            if b.count >= 1 && b[0] != magic.0 { return .invalid(.badMagic(skipped: resync(b)), skip: resync(b)) }
            if b.count >= 2 && b[1] != magic.1 { return .invalid(.badMagic(skipped: resync(b)), skip: resync(b)) }
            return .needMore
        }
        guard b[0] == magic.0, b[1] == magic.1 else {
            let skip = resync(b)
            return .invalid(.badMagic(skipped: skip), skip: skip)
        }
        let length = Int(b.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian)
        if headerSize + length > context.maximumFrameBytes {
            return .invalid(.oversized(length: headerSize + length, limit: context.maximumFrameBytes), skip: resync(b))
        }
        guard b[2] == version else { return .invalid(.badVersion(b[2]), skip: resync(b)) }
        guard length == bodySizeV1 else { return .invalid(.badLength(length), skip: resync(b)) }
        guard b.count >= frameSizeV1 else { return .needMore }

        let consumed = frameSizeV1
        guard let kind = TickKind(rawValue: b[3]) else { return .invalid(.badMessageType(b[3]), skip: consumed) }
        func i64(_ offset: Int) -> Int64 { Int64(littleEndian: b.loadUnaligned(fromByteOffset: headerSize + offset, as: Int64.self)) }
        let sequence = UInt64(bitPattern: i64(0))
        let exchangeTime = i64(8)
        let price = Price(units: i64(16))
        let quantity = i64(24)
        let bid = Price(units: i64(32))
        let ask = Price(units: i64(40))
        guard let side = TradeSide(rawValue: b[headerSize + 48]) else {
            return .invalid(.badField(name: "side", reason: "unknown side \(b[headerSize + 48])"), skip: consumed)
        }
        let symbolLength = Int(b[headerSize + 49])
        guard symbolLength >= 1 && symbolLength <= SymbolTable.maximumLength else {
            return .invalid(.badSymbol("length \(symbolLength)"), skip: consumed)
        }
        let symbolBytes = UnsafeRawBufferPointer(rebasing: b[(headerSize + 50)..<(headerSize + 50 + symbolLength)])
        guard let symbol = context.symbols.id(forASCII: symbolBytes) else {
            let text = Sanitized(bytes: symbolBytes).description
            return .invalid(SymbolTable.isValid(symbolBytes) ? .unknownSymbol(text) : .badSymbol(text), skip: consumed)
        }
        let tick = Tick(symbol: symbol, kind: kind, side: side, price: price, quantity: quantity, bid: bid, ask: ask,
                        exchangeTime: exchangeTime, receiveTime: receiveTime, sequence: sequence, feed: context.feed)
        if let error = TickValidation.check(tick) { return .invalid(error, skip: consumed) }
        return .tick(tick, consumed: consumed)
    }

    /// The symbol field of each v1 frame found in `bytes`, in order, without checking the rest of
    /// the frame (for tools that learn a recording's symbols before decoding it). Frame starts are
    /// found by their header; a frame cut off at the end is passed over.
    public static func forEachSymbol(in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var at = 0
        while at + frameSizeV1 <= bytes.count {
            guard bytes[at] == magic.0, bytes[at + 1] == magic.1, bytes[at + 2] == version else {
                at += 1
                continue
            }
            let length = Int(bytes[at + headerSize + 49])
            if length >= 1 && length <= SymbolTable.maximumLength {
                body(UnsafeRawBufferPointer(rebasing: bytes[(at + headerSize + 50)..<(at + headerSize + 50 + length)]))
            }
            at += frameSizeV1
        }
    }

    /// Distance to the next byte that could start a frame (at least 1).
    static func resync(_ b: UnsafeRawBufferPointer) -> Int {
        var i = 1
        while i < b.count {
            if b[i] == magic.0 && (i + 1 == b.count || b[i + 1] == magic.1) { return i }
            i += 1
        }
        return b.count
    }

    public static func encode(_ tick: Tick, symbols: SymbolTable, into out: inout [UInt8]) {
        let name = symbols.name(of: tick.symbol)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: frameSizeV1))
        out.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress! + start
            p.storeBytes(of: magic.0, as: UInt8.self)
            (p + 1).storeBytes(of: magic.1, as: UInt8.self)
            (p + 2).storeBytes(of: version, as: UInt8.self)
            (p + 3).storeBytes(of: tick.kind.rawValue, as: UInt8.self)
            (p + 4).storeBytes(of: UInt16(bodySizeV1).littleEndian, toByteOffset: 0, as: UInt16.self)
            let body = p + headerSize
            body.storeBytes(of: tick.sequence.littleEndian, toByteOffset: 0, as: UInt64.self)
            body.storeBytes(of: tick.exchangeTime.littleEndian, toByteOffset: 8, as: Int64.self)
            body.storeBytes(of: tick.price.units.littleEndian, toByteOffset: 16, as: Int64.self)
            body.storeBytes(of: tick.quantity.littleEndian, toByteOffset: 24, as: Int64.self)
            body.storeBytes(of: tick.bid.units.littleEndian, toByteOffset: 32, as: Int64.self)
            body.storeBytes(of: tick.ask.units.littleEndian, toByteOffset: 40, as: Int64.self)
            body.storeBytes(of: tick.side.rawValue, toByteOffset: 48, as: UInt8.self)
            let utf8 = Array(name.utf8.prefix(SymbolTable.maximumLength))
            body.storeBytes(of: UInt8(utf8.count), toByteOffset: 49, as: UInt8.self)
            for (i, c) in utf8.enumerated() { body.storeBytes(of: c, toByteOffset: 50 + i, as: UInt8.self) }
        }
    }
}
