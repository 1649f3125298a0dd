/// Nasdaq TotalView-ITCH 5.0, for recorded files (public samples, benchmarks): every message's
/// size by type, and the messages that carry orders, trades and the stock directory decoded
/// into values without allocating. Big-endian; prices are 4-decimal fixed point (read exactly
/// into `Price`); timestamps are nanoseconds since midnight (Eastern time, in 6 bytes).
public enum NasdaqITCH50 {
    /// The size of a message of `type`, its type byte included; nil for a type not in the protocol.
    public static func size(of type: UInt8) -> Int? { sizes.size(of: type) }

    static let sizes = MessageSizes(["S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21,
                                     "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19,
                                     "I": 50, "N": 20, "O": 48])

    /// The fields every message starts with.
    public struct Header: Equatable, Sendable {
        public var type: UInt8
        public var stockLocate: UInt16
        public var trackingNumber: UInt16
        /// Nanoseconds since midnight.
        public var timestamp: UInt64
    }

    public enum Message: Equatable, Sendable {
        /// `S`: the event code ('O' start of messages, 'S' start of system hours, 'Q' start of
        /// market hours, 'M' end of market hours, 'E' end of system hours, 'C' end of messages).
        case systemEvent(code: UInt8)
        /// `R`: a stock and its locate code (the key of every later message about it).
        case stockDirectory(symbol: ExchangeSymbol, marketCategory: UInt8, roundLotSize: UInt32)
        /// `H`: the stock's trading state ('H' halted, 'P' paused, 'Q' quotation only, 'T' trading).
        case tradingAction(symbol: ExchangeSymbol, state: UInt8)
        /// `A` and `F` (with an MPID attribution, `attribution` non-nil).
        case addOrder(reference: UInt64, side: TradeSide, shares: UInt32, symbol: ExchangeSymbol, price: Price, attribution: UInt32?)
        /// `E`: shares of a resting order executed at its price.
        case orderExecuted(reference: UInt64, shares: UInt32, match: UInt64)
        /// `C`: shares executed at another price; `printable` says whether it counts as a trade print.
        case orderExecutedWithPrice(reference: UInt64, shares: UInt32, match: UInt64, printable: Bool, price: Price)
        /// `X`: part of an order cancelled.
        case orderCancel(reference: UInt64, cancelledShares: UInt32)
        /// `D`: the rest of an order deleted.
        case orderDelete(reference: UInt64)
        /// `U`: an order replaced by a new one (new reference, shares and price; same side and stock).
        case orderReplace(original: UInt64, new: UInt64, shares: UInt32, price: Price)
        /// `P`: a trade with a non-displayed order.
        case trade(reference: UInt64, side: TradeSide, shares: UInt32, symbol: ExchangeSymbol, price: Price, match: UInt64)
        /// `Q`: a cross.
        case crossTrade(shares: UInt64, symbol: ExchangeSymbol, price: Price, match: UInt64, crossType: UInt8)
        /// Any other type ITCH 5.0 has (its size is known; its fields are not read).
        case other
    }

    /// The header of the message in `bytes` (at least 11 bytes).
    public static func header(_ bytes: UnsafeRawBufferPointer) -> Header {
        let b = BigEndianBytes(bytes)
        return Header(type: b.u8(0), stockLocate: b.u16(1), trackingNumber: b.u16(3), timestamp: b.u48(5))
    }

    /// Decodes the one message that `bytes` holds exactly.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Message, FrameError> {
        let type: UInt8
        do { type = try sizes.type(of: bytes).get() } catch { return .failure(error) }
        let b = BigEndianBytes(bytes)
        func price(_ at: Int) -> Price { Price(units: Int64(b.u32(at)) * 100) }
        func side(_ at: Int) -> TradeSide? {
            switch b.u8(at) {
            case UInt8(ascii: "B"): .buy
            case UInt8(ascii: "S"): .sell
            default: nil
            }
        }
        switch type {
        case UInt8(ascii: "S"): return .success(.systemEvent(code: b.u8(11)))
        case UInt8(ascii: "R"): return .success(.stockDirectory(symbol: b.symbol(11, length: 8), marketCategory: b.u8(19), roundLotSize: b.u32(21)))
        case UInt8(ascii: "H"): return .success(.tradingAction(symbol: b.symbol(11, length: 8), state: b.u8(19)))
        case UInt8(ascii: "A"), UInt8(ascii: "F"):
            guard let s = side(19) else { return .failure(.badField(name: "side", reason: "expected B or S, got \(b.u8(19))")) }
            return .success(.addOrder(reference: b.u64(11), side: s, shares: b.u32(20), symbol: b.symbol(24, length: 8), price: price(32),
                                      attribution: type == UInt8(ascii: "F") ? b.u32(36) : nil))
        case UInt8(ascii: "E"): return .success(.orderExecuted(reference: b.u64(11), shares: b.u32(19), match: b.u64(23)))
        case UInt8(ascii: "C"):
            return .success(.orderExecutedWithPrice(reference: b.u64(11), shares: b.u32(19), match: b.u64(23), printable: b.u8(31) == UInt8(ascii: "Y"),
                                                    price: price(32)))
        case UInt8(ascii: "X"): return .success(.orderCancel(reference: b.u64(11), cancelledShares: b.u32(19)))
        case UInt8(ascii: "D"): return .success(.orderDelete(reference: b.u64(11)))
        case UInt8(ascii: "U"): return .success(.orderReplace(original: b.u64(11), new: b.u64(19), shares: b.u32(27), price: price(31)))
        case UInt8(ascii: "P"):
            // A non-displayed trade's side is the resting order's; ITCH 5.0 always sends B here now.
            return .success(.trade(reference: b.u64(11), side: side(19) ?? .unknown, shares: b.u32(20), symbol: b.symbol(24, length: 8), price: price(32),
                                   match: b.u64(36)))
        case UInt8(ascii: "Q"):
            return .success(.crossTrade(shares: b.u64(11), symbol: b.symbol(19, length: 8), price: price(27), match: b.u64(31), crossType: b.u8(39)))
        default: return .success(.other)
        }
    }
}
