import Aggregator
import Ingest

/// The spool's file format (see docs/storage.md). Segment files are append-only:
///
/// ```
/// segment header: "AKSPOOL\0" | version u16 | symbol count u32 | (length u8, name)… | crc32c u32
/// record:         "AKSB" | batch number i64 | tick count u32 | payload length u32 | feed count u16 |
///                 candle count u32 | snapshot count u32 | (feed u16, highest sequence u64)… |
///                 crc32c u32 | payload
/// payload:        one zstd frame (content checksum on) of `tick count` rows of 64 bytes:
///                 sequence u64 | exchange time i64 | receive time i64 | price i64 | quantity i64 |
///                 bid i64 | ask i64 | symbol index u32 | feed u16 | kind u8 | side u8
///                 then `candle count` candle keys of 12 bytes: symbol index u32 | minute start i64
///                 then `snapshot count` top-of-book snapshots of 52 bytes: symbol index u32 |
///                 time i64 | bid i64 | ask i64 | last price i64 | volume i64 | trade count i64
/// ```
/// The candle keys name the candles to rebuild from the stored trades once the batch is stored.
/// Version 2 segments (no snapshots) and version 1 segments (no candle keys either) are still read.
/// All integers little-endian. A record's CRC-32C covers the header bytes before it and the payload;
/// the per-feed highest sequence lets a restart know what the spool holds without decompressing it;
/// a row's symbol index points into its segment's symbol list, so a segment reads back correctly
/// even after the configured symbol universe changed.
enum SpoolFormat {
    static let segmentMagic: [UInt8] = Array("AKSPOOL\0".utf8)
    static let version: UInt16 = 3
    static let recordMagic: [UInt8] = Array("AKSB".utf8)
    /// The fixed part of a record header; the feed list and the CRC follow.
    static func recordFixedSize(_ version: UInt16) -> Int { [1: 22, 2: 26][version] ?? 30 }
    static let rowSize = 64
    static let keySize = 12
    static let snapshotSize = 52
    static let maximumTicksPerRecord = 16 << 20
    static let maximumPayloadSize = 1 << 30

    static func segmentHeader(symbols: [String]) -> [UInt8] {
        var h = segmentMagic
        h.appendLE(version)
        h.appendLE(UInt32(symbols.count))
        for name in symbols {
            h.appendLE(UInt8(name.utf8.count))
            h.append(contentsOf: name.utf8)
        }
        h.appendLE(CRC32C.checksum(h))
        return h
    }

    /// Parses a segment header at the start of `bytes`: the symbol names and the header's length,
    /// or why it is not one.
    static func parseSegmentHeader(_ bytes: [UInt8]) -> Result<(symbols: [String], length: Int, version: UInt16), SpoolFormatError> {
        guard bytes.count >= 18 else { return .failure(.truncated("segment header")) }
        guard Array(bytes[0..<8]) == segmentMagic else { return .failure(.corrupt("not a spool segment")) }
        let version = bytes.loadLE(UInt16.self, at: 8)
        guard (1...Self.version).contains(version) else { return .failure(.corrupt("unsupported spool version \(version)")) }
        let count = Int(bytes.loadLE(UInt32.self, at: 10))
        var offset = 14
        var symbols: [String] = []
        for _ in 0..<count {
            guard offset < bytes.count else { return .failure(.truncated("segment header")) }
            let n = Int(bytes[offset])
            guard n >= 1, n <= SymbolTable.maximumLength else { return .failure(.corrupt("symbol name of \(n) bytes")) }
            guard offset + 1 + n <= bytes.count else { return .failure(.truncated("segment header")) }
            symbols.append(String(decoding: bytes[(offset + 1)..<(offset + 1 + n)], as: UTF8.self))
            offset += 1 + n
        }
        guard offset + 4 <= bytes.count else { return .failure(.truncated("segment header")) }
        let stored = bytes.loadLE(UInt32.self, at: offset)
        guard stored == bytes.withUnsafeBytes({ CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<offset])) }) else {
            return .failure(.corrupt("segment header checksum mismatch"))
        }
        return .success((symbols, offset + 4, version))
    }

    /// One record: header and compressed rows. Symbol ids are written as they are (the segment's
    /// symbol list is the writer's table).
    static func record(number: Int64, ticks: [Tick], candles: [CandleKey], snapshots: [BookSnapshot],
                       compressor: borrowing ZstdCompressor) -> [UInt8] {
        var rows = [UInt8]()
        rows.reserveCapacity(ticks.count * rowSize + candles.count * keySize + snapshots.count * snapshotSize)
        for t in ticks {
            rows.appendLE(t.sequence)
            rows.appendLE(t.exchangeTime)
            rows.appendLE(t.receiveTime)
            rows.appendLE(t.price.units)
            rows.appendLE(t.quantity)
            rows.appendLE(t.bid.units)
            rows.appendLE(t.ask.units)
            rows.appendLE(t.symbol.rawValue)
            rows.appendLE(t.feed)
            rows.appendLE(t.kind.rawValue)
            rows.appendLE(t.side.rawValue)
        }
        for k in candles {
            rows.appendLE(k.symbol.rawValue)
            rows.appendLE(k.start)
        }
        for b in snapshots {
            rows.appendLE(b.symbol.rawValue)
            rows.appendLE(b.time)
            rows.appendLE(b.bid.units)
            rows.appendLE(b.ask.units)
            rows.appendLE(b.lastPrice.units)
            rows.appendLE(b.volume)
            rows.appendLE(b.tradeCount)
        }
        var payload = [UInt8]()
        let n = rows.withUnsafeBytes { compressor.compress($0, into: &payload) }
        var highest: [UInt16: UInt64] = [:]
        for t in ticks where t.sequence > highest[t.feed, default: 0] { highest[t.feed] = t.sequence }
        var r = recordMagic
        r.reserveCapacity(recordFixedSize(version) + highest.count * 10 + 4 + n)
        r.appendLE(number)
        r.appendLE(UInt32(ticks.count))
        r.appendLE(UInt32(n))
        r.appendLE(UInt16(highest.count))
        r.appendLE(UInt32(candles.count))
        r.appendLE(UInt32(snapshots.count))
        for (feed, seq) in highest.sorted(by: { $0.key < $1.key }) {
            r.appendLE(feed)
            r.appendLE(seq)
        }
        var crc = CRC32C.checksum(r)
        crc = payload.withUnsafeBytes { CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        r.appendLE(crc)
        r.append(contentsOf: payload[0..<n])
        return r
    }

    struct RecordHeader: Equatable {
        var version: UInt16
        var number: Int64
        var tickCount: Int
        var candleCount: Int
        var snapshotCount: Int
        var payloadLength: Int
        /// Highest sequence number per feed among the record's ticks.
        var highest: [UInt16: UInt64]
        var checksum: UInt32
        var headerLength: Int { SpoolFormat.recordFixedSize(version) + highest.count * 10 + 4 }
        var totalLength: Int { headerLength + payloadLength }
    }

    /// Parses the record header at the start of `h` (which may hold more than the header), in a
    /// segment of `version`.
    static func parseRecordHeader(_ h: ArraySlice<UInt8>, version: UInt16 = version) -> Result<RecordHeader, SpoolFormatError> {
        let fixedSize = recordFixedSize(version)
        let fixed = Array(h.prefix(fixedSize))
        guard fixed.count == fixedSize else { return .failure(.truncated("record header")) }
        guard Array(fixed[0..<4]) == recordMagic else { return .failure(.corrupt("no record marker")) }
        let feeds = Int(fixed.loadLE(UInt16.self, at: 20))
        let h = Array(h.prefix(fixedSize + feeds * 10 + 4))
        guard h.count == fixedSize + feeds * 10 + 4 else { return .failure(.truncated("record header")) }
        var highest: [UInt16: UInt64] = [:]
        for i in 0..<feeds {
            highest[h.loadLE(UInt16.self, at: fixedSize + i * 10)] = h.loadLE(UInt64.self, at: fixedSize + i * 10 + 2)
        }
        let header = RecordHeader(version: version, number: h.loadLE(Int64.self, at: 4), tickCount: Int(h.loadLE(UInt32.self, at: 12)),
                                  candleCount: version == 1 ? 0 : Int(h.loadLE(UInt32.self, at: 22)),
                                  snapshotCount: version <= 2 ? 0 : Int(h.loadLE(UInt32.self, at: 26)),
                                  payloadLength: Int(h.loadLE(UInt32.self, at: 16)), highest: highest,
                                  checksum: h.loadLE(UInt32.self, at: fixedSize + feeds * 10))
        guard header.tickCount + header.candleCount + header.snapshotCount >= 1, header.tickCount <= maximumTicksPerRecord,
              header.candleCount <= maximumTicksPerRecord, header.snapshotCount <= maximumTicksPerRecord, header.payloadLength >= 1,
              header.payloadLength <= maximumPayloadSize, highest.count == feeds else {
            return .failure(.corrupt("implausible record header (\(header.tickCount) ticks, \(header.candleCount) candles, \(header.snapshotCount) snapshots, \(header.payloadLength) bytes, \(feeds) feeds)"))
        }
        return .success(header)
    }

    /// Whether the record at `offset` of `bytes` (header already parsed) matches its checksum.
    static func checksumMatches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ header: RecordHeader) -> Bool {
        let crcAt = offset + header.headerLength - 4
        let crc = CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[offset..<crcAt])),
                                UnsafeRawBufferPointer(rebasing: bytes[(offset + header.headerLength)..<(offset + header.totalLength)]))
        return crc == header.checksum
    }

    /// Checks a whole record (header and payload) and decodes its ticks, mapping each row's symbol
    /// index through `symbols` (the segment's list, as ids of the spool's table).
    static func decode(record r: [UInt8], header: RecordHeader, symbols: [SymbolID],
                       decompressor: borrowing ZstdDecompressor) -> Result<SpooledBatch, SpoolFormatError> {
        guard r.count == header.totalLength else { return .failure(.truncated("record")) }
        guard r.withUnsafeBytes({ checksumMatches($0, at: 0, header) }) else { return .failure(.corrupt("record checksum mismatch")) }
        var rows = [UInt8]()
        if let problem = r.withUnsafeBytes({ decompressor.decompress(UnsafeRawBufferPointer(rebasing: $0[header.headerLength...]),
                                                                      expectedSize: header.tickCount * rowSize + header.candleCount * keySize
                                                                          + header.snapshotCount * snapshotSize, into: &rows) }) {
            return .failure(.corrupt(problem))
        }
        var ticks: [Tick] = []
        ticks.reserveCapacity(header.tickCount)
        var candles: [CandleKey] = []
        var snapshots: [BookSnapshot] = []
        let bad: Int? = rows.withUnsafeBytes { raw in
            func i64(_ at: Int) -> Int64 { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
            for i in 0..<header.tickCount {
                let o = i * rowSize
                let index = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o + 56, as: UInt32.self)))
                guard index < symbols.count, let kind = TickKind(rawValue: raw[o + 62]), let side = TradeSide(rawValue: raw[o + 63]) else {
                    return i
                }
                ticks.append(Tick(symbol: symbols[index], kind: kind, side: side, price: Price(units: i64(o + 24)),
                                  quantity: i64(o + 32), bid: Price(units: i64(o + 40)), ask: Price(units: i64(o + 48)),
                                  exchangeTime: i64(o + 8), receiveTime: i64(o + 16), sequence: UInt64(bitPattern: i64(o)),
                                  feed: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o + 60, as: UInt16.self))))
            }
            for i in 0..<header.candleCount {
                let o = header.tickCount * rowSize + i * keySize
                let index = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                guard index < symbols.count else { return header.tickCount + i }
                candles.append(CandleKey(symbol: symbols[index], start: i64(o + 4)))
            }
            for i in 0..<header.snapshotCount {
                let o = header.tickCount * rowSize + header.candleCount * keySize + i * snapshotSize
                let index = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                guard index < symbols.count else { return header.tickCount + header.candleCount + i }
                snapshots.append(BookSnapshot(symbol: symbols[index], time: i64(o + 4), bid: Price(units: i64(o + 12)), ask: Price(units: i64(o + 20)),
                                              lastPrice: Price(units: i64(o + 28)), volume: i64(o + 36), tradeCount: i64(o + 44)))
            }
            return nil
        }
        if let bad { return .failure(.corrupt("row \(bad) has an invalid symbol, kind or side")) }
        return .success(SpooledBatch(ticks: ticks, candles: candles, snapshots: snapshots))
    }
}

/// A batch read back from the spool.
public struct SpooledBatch: Sendable, Equatable {
    public var ticks: [Tick]
    /// The candles to rebuild from the stored trades once the ticks are stored.
    public var candles: [CandleKey]
    public var snapshots: [BookSnapshot]
}

enum SpoolFormatError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case corrupt(String)

    var description: String {
        switch self {
        case .truncated(let what): "truncated \(what)"
        case .corrupt(let why): why
        }
    }
}
