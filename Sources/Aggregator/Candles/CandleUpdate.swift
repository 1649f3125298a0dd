/// A candle on its way from the pipeline thread to a consumer (the store writer, the fan-out).
public struct CandleUpdate: Sendable, BitwiseCopyable, Equatable {
    public enum Kind: UInt8, Sendable, BitwiseCopyable {
        /// The minute closed; `candle` is final unless a late trade corrects it.
        case closed
        /// A late trade changed a closed candle.
        case corrected
        /// A trade came too late for the aggregator: the store must rebuild the candle of
        /// `candle.key` from the stored trades (the other fields mean nothing).
        case rebuild
    }

    public var kind: Kind
    public var candle: Candle
    /// How many ticks the pipeline had handed to the consumer's lane when it sent this: the
    /// consumer must apply it together with or after those ticks (the store writer commits a
    /// candle in the same transaction as its trades, or a later one).
    public var stamp: UInt64

    public init(kind: Kind, candle: Candle, stamp: UInt64) {
        self.kind = kind
        self.candle = candle
        self.stamp = stamp
    }
}
