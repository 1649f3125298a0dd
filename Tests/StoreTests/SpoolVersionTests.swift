import Foundation
import Ingest
@testable import Store
import TestSupport
import Testing

/// Spool segments written before candles existed (format version 1: no candle count, no keys)
/// still read back after an upgrade, so a backlog left by the old version is stored, not refused.
@Suite(.timeLimit(.minutes(3))) struct SpoolVersionTests {
    @Test func aVersionOneSegmentFromBeforeCandlesIsStillRead() throws {
        let dir = scratchDirectory("spool-v1")
        let ticks = storeTicks(300)
        // A version 2 header and record, rewritten as version 1 (with their checksums redone).
        var header = SpoolFormat.segmentHeader(symbols: storeSymbols.allNames)
        header[8] = 1
        header[9] = 0
        header.removeLast(4)
        header.appendLE(CRC32C.checksum(header))
        let v2 = SpoolFormat.record(number: 7, ticks: ticks, candles: [], compressor: ZstdCompressor(level: 1))
        let parsed = try SpoolFormat.parseRecordHeader(v2[...]).get()
        var v1Header = Array(v2[0..<22]) + Array(v2[26..<(parsed.headerLength - 4)])
        let payload = Array(v2[parsed.headerLength...])
        let crc = payload.withUnsafeBytes { CRC32C.update(CRC32C.checksum(v1Header), $0) }
        v1Header.appendLE(crc)
        try Data(header + v1Header + payload).write(to: URL(fileURLWithPath: dir + "/" + TickSpool.fileName(1)))

        let log = StoreLog()
        let spool = try TickSpool(options: .init(directory: dir), symbols: storeSymbols) { log.append($0) }
        #expect(log.all.count == 1 && log.all[0].contains("1 batches") && log.all[0].contains("draining them first"), "\(log.all)")
        #expect(spool.count == 1 && spool.lowestNumber == 7)
        let back = try spool.read(7)
        #expect(back.ticks == ticks && back.candles.isEmpty)
        // New batches go to a new (version 2) segment next to it.
        try spool.append(number: 8, ticks: storeTicks(5, from: 1_000), candles: [])
        #expect(try spool.read(8).ticks.count == 5)
    }
}
