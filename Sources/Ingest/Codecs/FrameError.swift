/// Why one frame of a feed was rejected. Each rejected frame is counted by `kind` and the decoder
/// resynchronises and carries on; stored data is never touched by a rejected frame.
public enum FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The stream ended inside a frame; `available` bytes of it had arrived.
    case truncated(available: Int)
    /// A frame (or JSON line) longer than the configured maximum.
    case oversized(length: Int, limit: Int)
    /// Bytes that are not the start of a frame (the decoder skips to the next plausible start).
    case badMagic(skipped: Int)
    case badVersion(UInt8)
    case badMessageType(UInt8)
    /// A binary frame whose declared length does not match its version's layout.
    case badLength(Int)
    case badJSON(String)
    case badSymbol(String)
    case unknownSymbol(String)
    case nonPositivePrice(field: String, value: String)
    case badQuantity(String)
    case badTimestamp(String)
    case badField(name: String, reason: String)

    /// The counting bucket of this error.
    public var kind: FrameErrorKind {
        switch self {
        case .truncated: .truncated
        case .oversized: .oversized
        case .badMagic: .badMagic
        case .badVersion: .badVersion
        case .badMessageType: .badMessageType
        case .badLength: .badLength
        case .badJSON: .badJSON
        case .badSymbol: .badSymbol
        case .unknownSymbol: .unknownSymbol
        case .nonPositivePrice: .nonPositivePrice
        case .badQuantity: .badQuantity
        case .badTimestamp: .badTimestamp
        case .badField: .badField
        }
    }

    public var description: String {
        switch self {
        case .truncated(let available): "truncated frame: the stream ended after \(available) bytes of a frame"
        case .oversized(let length, let limit): "oversized frame: \(length) bytes, limit \(limit)"
        case .badMagic(let skipped): "not a frame start: skipped \(skipped) bytes to resynchronise"
        case .badVersion(let v): "unsupported frame version \(v)"
        case .badMessageType(let t): "unknown message type \(t)"
        case .badLength(let l): "frame length \(l) does not match the message layout"
        case .badJSON(let reason): "bad JSON: \(reason)"
        case .badSymbol(let s): "malformed symbol \(s)"
        case .unknownSymbol(let s): "unknown symbol \(s)"
        case .nonPositivePrice(let field, let value): "\(field) must be positive, got \(value)"
        case .badQuantity(let reason): "bad quantity: \(reason)"
        case .badTimestamp(let reason): "bad timestamp: \(reason)"
        case .badField(let name, let reason): "bad field '\(name)': \(reason)"
        }
    }
}

/// Counting buckets for rejected frames, one per `FrameError` case.
public enum FrameErrorKind: Int, CaseIterable, Sendable, CustomStringConvertible {
    case truncated, oversized, badMagic, badVersion, badMessageType, badLength, badJSON
    case badSymbol, unknownSymbol, nonPositivePrice, badQuantity, badTimestamp, badField

    /// snake_case label, as used in logs and metrics.
    public var description: String {
        switch self {
        case .truncated: "truncated"
        case .oversized: "oversized"
        case .badMagic: "bad_magic"
        case .badVersion: "bad_version"
        case .badMessageType: "bad_message_type"
        case .badLength: "bad_length"
        case .badJSON: "bad_json"
        case .badSymbol: "bad_symbol"
        case .unknownSymbol: "unknown_symbol"
        case .nonPositivePrice: "non_positive_price"
        case .badQuantity: "bad_quantity"
        case .badTimestamp: "bad_timestamp"
        case .badField: "bad_field"
        }
    }
}

/// The outcome of trying to decode one frame at the start of a buffer.
public enum DecodeStep: Sendable {
    /// A valid tick that used `consumed` bytes.
    case tick(Tick, consumed: Int)
    /// Bytes that carry no tick but are valid (blank JSON lines); skip them.
    case skip(Int)
    /// The buffer holds only part of a frame; call again with more bytes.
    case needMore
    /// A rejected frame; skip `skip` bytes (at least 1) and try again.
    case invalid(FrameError, skip: Int)
    /// A rejected line-delimited frame whose end has not arrived yet (an oversized line): discard
    /// everything through the next newline, however many reads away it is.
    case invalidThroughNextNewline(FrameError)
}

/// Everything a codec needs besides the bytes: the symbol universe and the frame size limit.
public struct DecodeContext: Sendable {
    public var symbols: SymbolTable
    /// Largest frame (binary) or line (JSON) accepted, in bytes.
    public var maximumFrameBytes: Int
    /// Stamped on every decoded tick.
    public var feed: UInt16

    public init(symbols: SymbolTable, maximumFrameBytes: Int = 4096, feed: UInt16 = 0) {
        self.symbols = symbols
        self.maximumFrameBytes = maximumFrameBytes
        self.feed = feed
    }
}

/// A feed wire format: pure functions over bytes, no I/O.
public protocol FeedCodec: SendableMetatype {
    /// Decodes the frame at the start of `bytes`. `receiveTime` is stamped on the tick.
    static func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64, context: DecodeContext) -> DecodeStep
    /// Appends the wire form of `tick` to `out`.
    static func encode(_ tick: Tick, symbols: SymbolTable, into out: inout [UInt8])
}

/// The wire formats a feed can be configured with.
public enum FeedFormat: String, Sendable, CaseIterable {
    case binary
    case jsonLines = "json"
    /// Borsa Istanbul's ITCH in MoldUDP64 packets, from UDP (multicast).
    case bistITCH = "bist-itch"
    /// AlgoLab's market-data WebSocket: read by the AlgoLab module (a `TickSource` of its own),
    /// not by the socket readers.
    case algolab

    /// Whether the io_uring readers receive it from a TCP or UDP socket.
    public var isSocketFormat: Bool { self != .algolab }
}
