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

    /// Names by id, as UTF-8.
    private var symbolNames: SymbolNames<[UInt8]>
    public private(set) var bytes: [UInt8] = []
    public private(set) var rows = 0

    public init(symbols: SymbolUniverse) {
        symbolNames = SymbolNames(symbols) { Array($0.utf8) }
        reset()
    }

    public func symbolName(_ id: SymbolID) -> String {
        let i = Int(id.rawValue)
        return i < symbolNames.all.count ? String(decoding: symbolNames.all[i], as: UTF8.self) : symbolNames.universe.name(of: id)
    }

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

    /// The stream with its trailer, ready for `PQputCopyData`; the encoder starts a new stream.
    /// The buffer is handed over, not copied.
    public mutating func finished() -> [UInt8] {
        bytes.append(contentsOf: [0xFF, 0xFF])
        var out: [UInt8] = []
        out.reserveCapacity(bytes.capacity)
        swap(&out, &bytes)
        reset()
        return out
    }

    /// The longest row: 2 + 12 (time) + 4 + 12 (symbol) + 12 × 4 (price, volume, bid, ask)
    /// + 6 (feed) + 12 (seq) + 6 × 2 (kind, side) + 12 (receive time).
    private static let maximumRowBytes = 2 + 12 + 4 + SymbolTable.maximumLength + 48 + 6 + 12 + 12 + 12

    /// Appends one row. The row is assembled in a small stack buffer with big-endian stores and
    /// appended once: this runs for every stored tick.
    public mutating func append(_ tick: Tick) {
        let name = symbolNames.value(of: tick.symbol)
        withUnsafeTemporaryAllocation(byteCount: Self.maximumRowBytes, alignment: 8) { row in
            var at = 0
            func put16(_ v: Int16) { row.storeBytes(of: v.bigEndian, toByteOffset: at, as: Int16.self); at += 2 }
            func put32(_ v: Int32) { row.storeBytes(of: v.bigEndian, toByteOffset: at, as: Int32.self); at += 4 }
            func put64(_ v: Int64) { put32(8); row.storeBytes(of: v.bigEndian, toByteOffset: at, as: Int64.self); at += 8 }
            func small(_ v: Int16) { put32(2); put16(v) }
            // Floor division, so a time before 1970 still truncates towards the past.
            func time(_ nanos: Int64) { put64((nanos >= 0 ? nanos / 1000 : (nanos - 999) / 1000) - Self.postgresEpochMicros) }
            put16(11)
            time(tick.exchangeTime)
            put32(Int32(name.count))
            name.withUnsafeBytes { row.baseAddress!.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            at += name.count
            put64(tick.price.units)
            put64(tick.quantity)
            if tick.bid == .zero { put32(-1) } else { put64(tick.bid.units) }
            if tick.ask == .zero { put32(-1) } else { put64(tick.ask.units) }
            small(Int16(bitPattern: tick.feed))
            put64(Int64(bitPattern: tick.sequence))
            small(Int16(tick.kind.rawValue))
            small(Int16(tick.side.rawValue))
            time(tick.receiveTime)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: row[..<at]))
        }
        rows += 1
    }
}
