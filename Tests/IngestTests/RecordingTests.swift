import Foundation
import Ingest
import Testing

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Reads every record of a recording (and the error that stopped it, if any).
func readAll(_ path: String) throws -> (records: [(Int64, [UInt8])], error: Error?) {
    let reader = try RecordingReader(path: path)
    var records: [(Int64, [UInt8])] = []
    do { try reader.forEachRecord { records.append(($0, Array($1))) } } catch { return (records, error) }
    return (records, nil)
}

@Suite(.timeLimit(.minutes(3))) struct RecordingTests {
    func writeSample(records: Int, blockSize: Int = 4096) throws -> (String, [(Int64, [UInt8])]) {
        let path = temporaryPath("sample.akrec")
        let header = RecordingHeader(payload: .binary, transport: .tcp, startTime: 1_727_161_200_000_000_000, source: "tcp://127.0.0.1:9000")
        let writer = try RecordingWriter(path: path, header: header, blockSize: blockSize)
        var r = TestRandom(state: 3)
        var written: [(Int64, [UInt8])] = []
        for i in 0..<records {
            let payload = (0..<(1 + r.below(300))).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            try writer.append(receiveTime: Int64(i) * 1000, payload: payload)
            written.append((Int64(i) * 1000, payload))
        }
        try writer.close()
        return (path, written)
    }

    @Test func roundTripsHeaderAndRecordsAcrossManyBlocks() throws {
        let (path, written) = try writeSample(records: 5_000)
        let reader = try RecordingReader(path: path)
        #expect(reader.header.source == "tcp://127.0.0.1:9000")
        #expect(reader.header.transport == .tcp)
        #expect(reader.header.payload == .binary)
        #expect(reader.header.startTime == 1_727_161_200_000_000_000)
        let (records, error) = try readAll(path)
        #expect(error == nil)
        #expect(records.count == written.count)
        #expect(zip(records, written).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    @Test func emptyRecordingHasNoRecords() throws {
        let (path, _) = try writeSample(records: 0)
        let (records, error) = try readAll(path)
        #expect(records.isEmpty)
        #expect(error == nil)
    }

    @Test func truncatedFileDeliversEverythingBeforeAndNamesTheOffset() throws {
        let (path, written) = try writeSample(records: 2_000)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data = data.prefix(data.count * 2 / 3)
        try data.write(to: URL(fileURLWithPath: path))
        let (records, error) = try readAll(path)
        let recordingError = try #require(error as? RecordingError)
        guard case .truncated(_, let offset, _) = recordingError else { Issue.record("expected truncated, got \(recordingError)"); return }
        #expect(offset > 0 && offset < Int64(data.count))
        #expect(records.count > 0 && records.count < written.count)
        #expect(zip(records, written).allSatisfy { $0.1 == $1.1 }, "records before the damage are intact")
        #expect("\(recordingError)".contains("byte offset \(offset)"))
    }

    @Test func corruptBlockIsDetectedByChecksumAndNamesItsOffset() throws {
        let (path, written) = try writeSample(records: 2_000)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let victim = data.count / 2
        data[victim] ^= 0x5A
        try data.write(to: URL(fileURLWithPath: path))
        let (records, error) = try readAll(path)
        let recordingError = try #require(error as? RecordingError)
        guard case .corrupt(_, let offset, _) = recordingError else { Issue.record("expected corrupt, got \(recordingError)"); return }
        #expect(offset <= Int64(victim))
        #expect(records.count < written.count)
        #expect(zip(records, written).allSatisfy { $0.1 == $1.1 })
    }

    @Test func notARecordingAndMissingFile() throws {
        let path = temporaryPath("text.akrec")
        try "hello world, this is not a recording".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RecordingError.notARecording(path: path)) { try RecordingReader(path: path) }
        #expect { try RecordingReader(path: "/nonexistent/x.akrec") } throws: { "\($0)".contains("No such file") }
    }

    @Test func writerRefusesToClobberAnExistingFile() throws {
        let (path, _) = try writeSample(records: 1)
        let header = RecordingHeader(payload: .raw, transport: .unknown, startTime: 0, source: "")
        #expect(throws: RecordingError.exists(path: path)) { try RecordingWriter(path: path, header: header) }
        _ = try RecordingWriter(path: path, header: header, overwrite: true)
    }
}

@Suite struct SyntheticFeedTests {
    let parameters = SyntheticFeed.Parameters(symbolCount: 10, rate: 5000, duration: 20, seed: 9)

    @Test func isDeterministic() throws {
        let a = Array(try SyntheticFeed(parameters))
        let b = Array(try SyntheticFeed(parameters))
        #expect(a == b)
        var other = parameters
        other.seed = 10
        #expect(Array(try SyntheticFeed(other)) != a)
    }

    @Test func ticksAreRealistic() throws {
        let feed = try SyntheticFeed(parameters)
        let ticks = Array(feed)
        #expect(abs(Double(ticks.count) - 100_000) < 2_000, "about rate × duration ticks")
        let open = BISTMarket.continuousSessionStart(year: 2024, month: 9, day: 24)
        #expect(ticks.allSatisfy { $0.exchangeTime > open && $0.exchangeTime < open + 20_000_000_000 })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.exchangeTime < $1.exchangeTime && $0.sequence + 1 == $1.sequence })
        #expect(ticks.allSatisfy { TickValidation.check($0) == nil })
        let trades = ticks.filter { $0.kind == .trade }
        #expect(trades.allSatisfy { TickSizeTable.bistEquity.contains($0.price) }, "trade prices lie on BIST price steps")
        #expect(ticks.allSatisfy { TickSizeTable.bistEquity.contains($0.bid) && TickSizeTable.bistEquity.contains($0.ask) && $0.bid < $0.ask })
        let share = Double(trades.count) / Double(ticks.count)
        #expect(share > 0.65 && share < 0.75)
        #expect(Set(ticks.map(\.symbol)).count == 10)
    }

    @Test func rejectsBadParameters() {
        #expect(throws: SynthError.self) { try SyntheticFeed(.init(symbolCount: 31)) }
        #expect(throws: SynthError.self) { try SyntheticFeed(.init(rate: 0)) }
        #expect(throws: SynthError.self) { try SyntheticFeed(.init(duration: 9 * 3600)) }
        #expect(throws: SynthError.self) { try SyntheticFeed(.init(date: (2024, 2, 30))) }
    }

    @Test(arguments: [FeedFormat.binary, .jsonLines])
    func writesARecordingThatDecodesBackToTheSameTicks(format: FeedFormat) throws {
        let feed = try SyntheticFeed(.init(symbolCount: 5, rate: 2000, duration: 5, seed: 4))
        let path = temporaryPath("synth.akrec")
        let summary = try SynthesisWriter.write(feed, format: format, to: path)
        let expected = Array(feed)
        #expect(summary.ticks == UInt64(expected.count))
        let reader = try RecordingReader(path: path)
        #expect(reader.header.payload == .init(format))
        var decoded: [Tick] = []
        let context = DecodeContext(symbols: feed.symbols)
        var binary = FeedDecoder<BinaryFrameCodec>(context: context)
        var json = FeedDecoder<JSONLineCodec>(context: context)
        try reader.forEachRecord { time, payload in
            switch format {
            case .binary: binary.decode(payload, receiveTime: time) { decoded.append($0) }
            case .jsonLines: json.decode(payload, receiveTime: time) { decoded.append($0) }
            case .algolab, .bistITCH: Issue.record("not a tick recording format")
            }
        }
        #expect(decoded == expected)
    }
}

@Suite struct BundledSampleTests {
    /// The sample the README's first command replays is exactly what `akis synth` makes from the
    /// documented options (Samples/README.md), so it can always be regenerated.
    @Test func sampleMatchesItsDocumentedSynthOptions() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Samples/bist-sample.akrec").path
        let reader = try RecordingReader(path: path)
        let feed = try SyntheticFeed(.init(symbolCount: 30, rate: 1000, duration: 60, seed: 1))
        var expected = feed.makeIterator()
        var decoder = FeedDecoder<BinaryFrameCodec>(context: DecodeContext(symbols: feed.symbols))
        var matched = 0, mismatched = 0
        try reader.forEachRecord { time, payload in
            decoder.decode(payload, receiveTime: time) { tick in
                if tick == expected.next() { matched += 1 } else { mismatched += 1 }
            }
        }
        #expect(mismatched == 0)
        #expect(expected.next() == nil)
        #expect(matched > 55_000)
        #expect(decoder.stats.rejected == 0)
    }
}
