import Ingest

/// Encodes ticks as rows of PostgreSQL's binary COPY format for `market_ticks`, straight from
/// `Tick` values into one growing buffer: no per-tick string formatting, no per-tick allocation.
///
/// Row layout (the `columns` order): time timestamptz, symbol text, price int8, volume int8,
/// bid int8 (NULL for none), ask int8 (NULL for none), feed int2, seq int8, kind int2, side int2,
/// receive_time timestamptz. Times are truncated to microseconds (PostgreSQL's resolution).
public struct TickCopyEncoder {
    public static let columns = "time, symbol, price, volume, bid, ask, feed, seq, kind, side, receive_time"
    /// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    private let symbolNames: [[UInt8]]
    public private(set) var bytes: [UInt8] = []
    public private(set) var rows = 0

    public init(symbols: SymbolTable) {
        symbolNames = (0..<symbols.count).map { Array(symbols.name(of: SymbolID(UInt32($0))).utf8) }
        reset()
    }

    public func symbolName(_ id: SymbolID) -> String { String(decoding: symbolNames[Int(id.rawValue)], as: UTF8.self) }

    /// An empty encoder with the same symbol names.
    public init(sharing other: TickCopyEncoder) {
        symbolNames = other.symbolNames
        reset()
    }

    /// Starts a new COPY stream: the 19-byte header only.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])  // PGCOPY\n\377\r\n\0
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])  // flags, header extension length
        rows = 0
    }

    /// The stream so far plus the trailer, ready for `PQputCopyData`.
    public mutating func finished() -> [UInt8] {
        var out = bytes
        out.append(contentsOf: [0xFF, 0xFF])
        return out
    }

    @inline(__always)
    private mutating func int16(_ v: Int16) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    @inline(__always)
    private mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    @inline(__always)
    private mutating func field(_ v: Int64) { int32(8); withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    @inline(__always)
    private mutating func field(_ v: Int16) { int32(2); int16(v) }
    @inline(__always)
    private mutating func timestamp(_ nanos: Int64) {
        // Floor division, so a time before 1970 still truncates towards the past.
        let micros = nanos >= 0 ? nanos / 1000 : (nanos - 999) / 1000
        field(micros - Self.postgresEpochMicros)
    }

    public mutating func append(_ tick: Tick) {
        int16(11)
        timestamp(tick.exchangeTime)
        let name = symbolNames[Int(tick.symbol.rawValue)]
        int32(Int32(name.count))
        bytes.append(contentsOf: name)
        field(tick.price.units)
        field(tick.quantity)
        if tick.bid == .zero { int32(-1) } else { field(tick.bid.units) }
        if tick.ask == .zero { int32(-1) } else { field(tick.ask.units) }
        field(Int16(bitPattern: tick.feed))
        field(Int64(bitPattern: tick.sequence))
        field(Int16(tick.kind.rawValue))
        field(Int16(tick.side.rawValue))
        timestamp(tick.receiveTime)
        rows += 1
    }
}
