/// One market event from a feed, as a fixed-size value (64 bytes) that moves through the
/// lock-free rings without allocation or reference counting.
public struct Tick: Hashable, Sendable, BitwiseCopyable {
    /// Feed sequence number; 0 means the feed does not number its messages.
    public var sequence: UInt64
    /// Exchange (event) time, nanoseconds since the Unix epoch, UTC.
    public var exchangeTime: Int64
    /// When this process received the bytes, nanoseconds since the Unix epoch, UTC.
    public var receiveTime: Int64
    /// Trade price, or the last price carried by a quote (`.zero` when the quote has none).
    public var price: Price
    /// Shares traded (trades) or 0 (quotes without size).
    public var quantity: Int64
    /// Best bid, `.zero` when the feed did not send one.
    public var bid: Price
    /// Best ask, `.zero` when the feed did not send one.
    public var ask: Price
    public var symbol: SymbolID
    /// The configured feed this tick came from (its sequence numbers are per feed).
    public var feed: UInt16
    public var kind: TickKind
    public var side: TradeSide

    public init(
        symbol: SymbolID, kind: TickKind, side: TradeSide = .unknown, price: Price, quantity: Int64,
        bid: Price = .zero, ask: Price = .zero, exchangeTime: Int64, receiveTime: Int64 = 0,
        sequence: UInt64 = 0, feed: UInt16 = 0
    ) {
        self.sequence = sequence
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
        self.price = price
        self.quantity = quantity
        self.bid = bid
        self.ask = ask
        self.symbol = symbol
        self.feed = feed
        self.kind = kind
        self.side = side
    }
}

extension Tick {
    /// Whether a run stored this tick already: its feed numbers its messages and the sequence is
    /// at or below that feed's stored checkpoint (a feed's resend after a restart).
    @inlinable public func isCovered(by checkpoints: [UInt16: UInt64]) -> Bool {
        sequence != 0 && sequence <= checkpoints[feed, default: 0]
    }
}

public enum TickKind: UInt8, Sendable, BitwiseCopyable, CaseIterable {
    case trade = 1
    case quote = 2
}

/// The aggressor side of a trade, when the feed tells it.
public enum TradeSide: UInt8, Sendable, BitwiseCopyable, CaseIterable {
    case unknown = 0
    case buy = 1
    case sell = 2
}
