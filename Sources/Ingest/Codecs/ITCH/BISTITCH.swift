/// Borsa Istanbul's ITCH (BISTECH ITCH, Genium INET style), as carried in MoldUDP64: every
/// message type's size and fields, decoded into values without allocating. Big-endian. Most
/// messages start with `Nanoseconds`, an offset within the second the last `T` message set.
/// Prices are integers in the instrument's `PriceDecimals` (from its `R` message): they are kept
/// raw here; the order books scale them (layout from Wireshark's packet-bist-itch.c, citing BIST's
/// "BISTECH ITCH Protocol Specification").
public enum BISTITCH {
    /// The size of a message of `type`, its type byte included; nil for a type not in the protocol.
    public static func size(of type: UInt8) -> Int? { sizes.size(of: type) }

    static let sizes = MessageSizes(["T": 5, "R": 130, "L": 25, "S": 6, "O": 29, "A": 45, "E": 52, "C": 58, "D": 18, "P": 50,
                                     "Z": 53, "Y": 9, "V": 10, "M": 18])

    public enum Side: UInt8, Sendable {
        case buy = 0x42  // "B"
        case sell = 0x53  // "S"

        public var tradeSide: TradeSide { self == .buy ? .buy : .sell }
    }

    public enum Message: Equatable, Sendable {
        /// `T`: the second later messages' nanoseconds count from.
        case seconds(UInt32)
        /// `R`: an instrument (order book) and how to read its prices.
        case orderBookDirectory(nanos: UInt32, book: UInt32, symbol: ExchangeSymbol, isin: ExchangeSymbol, financialProduct: UInt8,
                                priceDecimals: UInt16, nominalDecimals: UInt16, oddLot: UInt32, roundLot: UInt32, blockLot: UInt32)
        /// `L`: one band of an instrument's tick size table: `tickSize` applies from `from` to `to`.
        case tickSize(nanos: UInt32, book: UInt32, tickSize: UInt64, from: UInt32, to: UInt32)
        /// `S`: a system event ('O' start of messages, 'C' end).
        case systemEvent(nanos: UInt32, code: UInt8)
        /// `O`: an order book's state, by name (space-padded, up to 20 bytes; the first 16 kept).
        case orderBookState(nanos: UInt32, book: UInt32, state: ExchangeSymbol)
        /// `A`: an order added to a book.
        case addOrder(nanos: UInt32, order: UInt64, book: UInt32, side: Side, rankingSequence: UInt32, quantity: UInt64, price: Int32,
                      attributes: UInt16, lotType: UInt8, rankingTime: UInt64)
        /// `E`: part of an order executed at its price.
        case orderExecuted(nanos: UInt32, order: UInt64, book: UInt32, side: Side, quantity: UInt64, match: UInt64, comboGroup: UInt32)
        /// `C`: part of an order executed at another price.
        case orderExecutedWithPrice(nanos: UInt32, order: UInt64, book: UInt32, side: Side, quantity: UInt64, match: UInt64, comboGroup: UInt32,
                                    price: UInt32, occurredAtCross: Bool, printable: Bool)
        /// `D`: an order deleted.
        case orderDelete(nanos: UInt32, order: UInt64, book: UInt32, side: Side)
        /// `P`: a trade not from a visible order's execution.
        case trade(nanos: UInt32, match: UInt64, comboGroup: UInt32, side: Side?, quantity: UInt64, book: UInt32, price: UInt32,
                   printable: Bool, occurredAtCross: Bool)
        /// `Z`: the equilibrium price of an auction, with the best bid and ask.
        case equilibrium(nanos: UInt32, book: UInt32, bidQuantity: UInt64, askQuantity: UInt64, price: UInt32, bestBid: UInt32, bestAsk: UInt32,
                         bestBidQuantity: UInt64, bestAskQuantity: UInt64)
        /// `Y`, `V`, `M`: sizes known, contents not used.
        case other(UInt8)
    }

    /// Decodes the one message that `bytes` holds exactly.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Message, FrameError> {
        let type: UInt8
        do { type = try sizes.type(of: bytes).get() } catch { return .failure(error) }
        let b = BigEndianBytes(bytes)
        func side(_ at: Int) throws(FrameError) -> Side {
            guard let s = Side(rawValue: b.u8(at)) else { throw .badField(name: "side", reason: "expected B or S, got \(b.u8(at))") }
            return s
        }
        func flag(_ at: Int) -> Bool { b.u8(at) == UInt8(ascii: "Y") }
        do throws(FrameError) {
            switch type {
            case UInt8(ascii: "T"): return .success(.seconds(b.u32(1)))
            case UInt8(ascii: "R"):
                guard b.isPadding(25, length: 16) else { throw .badSymbol("an order book symbol longer than 16 bytes") }
                return .success(.orderBookDirectory(nanos: b.u32(1), book: b.u32(5), symbol: b.symbol(9, length: 16), isin: b.symbol(73, length: 12),
                                                    financialProduct: b.u8(85), priceDecimals: b.u16(89), nominalDecimals: b.u16(91),
                                                    oddLot: b.u32(93), roundLot: b.u32(97), blockLot: b.u32(101)))
            case UInt8(ascii: "L"): return .success(.tickSize(nanos: b.u32(1), book: b.u32(5), tickSize: b.u64(9), from: b.u32(17), to: b.u32(21)))
            case UInt8(ascii: "S"): return .success(.systemEvent(nanos: b.u32(1), code: b.u8(5)))
            case UInt8(ascii: "O"): return .success(.orderBookState(nanos: b.u32(1), book: b.u32(5), state: b.symbol(9, length: 16)))
            case UInt8(ascii: "A"):
                return .success(.addOrder(nanos: b.u32(1), order: b.u64(5), book: b.u32(13), side: try side(17), rankingSequence: b.u32(18),
                                          quantity: b.u64(22), price: b.i32(30), attributes: b.u16(34), lotType: b.u8(36), rankingTime: b.u64(37)))
            case UInt8(ascii: "E"):
                return .success(.orderExecuted(nanos: b.u32(1), order: b.u64(5), book: b.u32(13), side: try side(17), quantity: b.u64(18),
                                               match: b.u64(26), comboGroup: b.u32(34)))
            case UInt8(ascii: "C"):
                return .success(.orderExecutedWithPrice(nanos: b.u32(1), order: b.u64(5), book: b.u32(13), side: try side(17), quantity: b.u64(18),
                                                        match: b.u64(26), comboGroup: b.u32(34), price: b.u32(52), occurredAtCross: flag(56),
                                                        printable: flag(57)))
            case UInt8(ascii: "D"): return .success(.orderDelete(nanos: b.u32(1), order: b.u64(5), book: b.u32(13), side: try side(17)))
            case UInt8(ascii: "P"):
                // A cross's trade may have no aggressor: a side byte other than B or S is kept as nil.
                return .success(.trade(nanos: b.u32(1), match: b.u64(5), comboGroup: b.u32(13), side: Side(rawValue: b.u8(17)), quantity: b.u64(18),
                                       book: b.u32(26), price: b.u32(30), printable: flag(48), occurredAtCross: flag(49)))
            case UInt8(ascii: "Z"):
                return .success(.equilibrium(nanos: b.u32(1), book: b.u32(5), bidQuantity: b.u64(9), askQuantity: b.u64(17), price: b.u32(25),
                                             bestBid: b.u32(29), bestAsk: b.u32(33), bestBidQuantity: b.u64(37), bestAskQuantity: b.u64(45)))
            default: return .success(.other(type))
            }
        } catch {
            return .failure(error)
        }
    }
}
