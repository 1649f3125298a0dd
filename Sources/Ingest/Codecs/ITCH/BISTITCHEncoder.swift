extension BISTITCH {
    /// The wire bytes of `message` (for synthetic feeds and test servers). Fields the decoded
    /// message does not keep (long names, currency, reserved bytes) are written as padding.
    public static func encode(_ message: Message) -> [UInt8] {
        var w = BigEndianWriter()
        switch message {
        case .seconds(let s):
            w.type("T"); w.put(s)
        case .orderBookDirectory(let ns, let book, let symbol, let isin, let product, let priceDecimals, let nominalDecimals, let odd, let round, let block):
            w.type("R"); w.put(ns); w.put(book); w.text(symbol.text, 32); w.text("", 32); w.text(isin.text, 12); w.put(product); w.text("TRY", 3)
            w.put(priceDecimals); w.put(nominalDecimals); w.put(odd); w.put(round); w.put(block)
            w.put(UInt64(0)); w.put(UInt8(0)); w.put(UInt32(0)); w.put(UInt32(0)); w.put(UInt32(0)); w.put(UInt16(0)); w.put(UInt8(0)); w.put(UInt8(0))
        case .tickSize(let ns, let book, let size, let from, let to):
            w.type("L"); w.put(ns); w.put(book); w.put(size); w.put(from); w.put(to)
        case .systemEvent(let ns, let code):
            w.type("S"); w.put(ns); w.put(code)
        case .orderBookState(let ns, let book, let state):
            w.type("O"); w.put(ns); w.put(book); w.text(state.text, 20)
        case .addOrder(let ns, let order, let book, let side, let ranking, let quantity, let price, let attributes, let lotType, let rankingTime):
            w.type("A"); w.put(ns); w.put(order); w.put(book); w.put(side.rawValue); w.put(ranking); w.put(quantity); w.put(price)
            w.put(attributes); w.put(lotType); w.put(rankingTime)
        case .orderExecuted(let ns, let order, let book, let side, let quantity, let match, let combo):
            w.type("E"); w.put(ns); w.put(order); w.put(book); w.put(side.rawValue); w.put(quantity); w.put(match); w.put(combo); w.zeros(14)
        case .orderExecutedWithPrice(let ns, let order, let book, let side, let quantity, let match, let combo, let price, let cross, let printable):
            w.type("C"); w.put(ns); w.put(order); w.put(book); w.put(side.rawValue); w.put(quantity); w.put(match); w.put(combo); w.zeros(14)
            w.put(price); w.flag(cross); w.flag(printable)
        case .orderDelete(let ns, let order, let book, let side):
            w.type("D"); w.put(ns); w.put(order); w.put(book); w.put(side.rawValue)
        case .trade(let ns, let match, let combo, let side, let quantity, let book, let price, let printable, let cross):
            w.type("P"); w.put(ns); w.put(match); w.put(combo); w.put(side?.rawValue ?? 0x20); w.put(quantity); w.put(book); w.put(price); w.zeros(14)
            w.flag(printable); w.flag(cross)
        case .equilibrium(let ns, let book, let bidQuantity, let askQuantity, let price, let bestBid, let bestAsk, let bestBidQuantity, let bestAskQuantity):
            w.type("Z"); w.put(ns); w.put(book); w.put(bidQuantity); w.put(askQuantity); w.put(price); w.put(bestBid); w.put(bestAsk)
            w.put(bestBidQuantity); w.put(bestAskQuantity)
        case .other(let type):
            w.bytes.append(type); w.zeros((size(of: type) ?? 1) - 1)
        }
        return w.bytes
    }
}

private struct BigEndianWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(130) }

    mutating func type(_ c: Character) { bytes.append(c.asciiValue!) }
    mutating func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func flag(_ b: Bool) { bytes.append(b ? UInt8(ascii: "Y") : UInt8(ascii: "N")) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    /// Space-padded ASCII of exactly `n` bytes.
    mutating func text(_ s: String, _ n: Int) {
        let utf8 = Array(s.utf8.prefix(n))
        bytes.append(contentsOf: utf8)
        bytes.append(contentsOf: repeatElement(0x20, count: n - utf8.count))
    }
}
