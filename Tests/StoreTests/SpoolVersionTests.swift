import Foundation
import Ingest
@testable import Store
import TestSupport
import Testing

/// Spool segments of earlier format versions still read back after an upgrade, so a backlog left
/// by the old version is stored, not refused: version 1 (before candles: no candle count, no keys)
/// and version 2 (before snapshots: no snapshot count).
@Suite(.timeLimit(.minutes(3))) struct SpoolVersionTests {
    @Test(arguments: [UInt16(1), 2]) func aSegmentOfAnEarlierVersionIsStillRead(version: UInt16) throws {
        let dir = scratchDirectory("spool-v\(version)")
        let ticks = storeTicks(300)
        // A current header and record, rewritten as the old version (with their checksums redone).
        var header = SpoolFormat.segmentHeader(symbols: storeSymbols.allNames)
        header[8] = UInt8(version)
        header[9] = 0
        header.removeLast(4)
        header.appendLE(CRC32C.checksum(header))
        let current = SpoolFormat.record(number: 7, ticks: ticks, candles: [], snapshots: [], compressor: ZstdCompressor(level: 1))
        let parsed = try SpoolFormat.parseRecordHeader(current[...]).get()
        let fixed = SpoolFormat.recordFixedSize(version)
        var oldHeader = Array(current[0..<fixed]) + Array(current[SpoolFormat.recordFixedSize(SpoolFormat.version)..<(parsed.headerLength - 4)])
        let payload = Array(current[parsed.headerLength...])
        let crc = payload.withUnsafeBytes { CRC32C.update(CRC32C.checksum(oldHeader), $0) }
        oldHeader.appendLE(crc)
        try Data(header + oldHeader + payload).write(to: URL(fileURLWithPath: dir + "/" + TickSpool.fileName(1)))

        let log = StoreLog()
        let spool = try TickSpool(options: .init(directory: dir), symbols: SymbolUniverse(storeSymbols)) { log.append($0) }
        #expect(log.all.count == 1 && log.all[0].contains("1 batches") && log.all[0].contains("draining them first"), "\(log.all)")
        #expect(spool.count == 1 && spool.lowestNumber == 7)
        let back = try spool.read(7)
        #expect(back.ticks == ticks && back.candles.isEmpty && back.snapshots.isEmpty)
        // New batches go to a new (current version) segment next to it.
        try spool.append(number: 8, ticks: storeTicks(5, from: 1_000), candles: [])
        #expect(try spool.read(8).ticks.count == 5)
    }
}
