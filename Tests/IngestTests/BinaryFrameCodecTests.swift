import Ingest
import Testing

@Suite struct BinaryFrameCodecTests {
    let akbnk = Tick(symbol: testSymbols.id(for: "AKBNK")!, kind: .trade, side: .buy, price: Price("15.75")!, quantity: 10_000,
                     bid: Price("15.74")!, ask: Price("15.76")!, exchangeTime: 1_727_173_800_000_000_000, sequence: 7, feed: 3)

    func frame(_ tick: Tick? = nil, _ mutate: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var bytes = encoded(BinaryFrameCodec.self, [tick ?? akbnk])
        mutate(&bytes)
        return bytes
    }

    /// Writes a little-endian Int64 into the body at `offset`.
    func put(_ value: Int64, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<8 { bytes[6 + offset + i] = $0[i] } }
    }

    @Test func frameIsSeventyBytesAndRoundTrips() {
        let bytes = frame()
        #expect(bytes.count == BinaryFrameCodec.frameSizeV1)
        #expect(bytes.count == 70)
        let result = decodeStream(BinaryFrameCodec.self, bytes)
        #expect(result.errors.isEmpty)
        #expect(result.ticks == [akbnk])
        #expect(result.ticks.first?.price.description == "15.75")
    }

    @Test func symbolsAreFoundInFramesAmongGarbageAndACutOffFrameIsPassedOver() {
        var thyao = akbnk
        thyao.symbol = testSymbols.id(for: "THYAO")!
        let bytes = [0xA5, 0x4B, 9] + frame() + [1, 2, 3] + frame(thyao) + frame(thyao).dropLast()
        var names: [String] = []
        bytes.withUnsafeBytes { BinaryFrameCodec.forEachSymbol(in: $0) { names.append(String(decoding: $0, as: UTF8.self)) } }
        #expect(names == ["AKBNK", "THYAO"])
    }

    @Test func propertyEncodeThenDecodeIsIdentity() {
        var r = TestRandom(state: 1)
        let ticks = (0..<20_000).map { _ in generatedTick(&r) }
        let result = decodeStream(BinaryFrameCodec.self, encoded(BinaryFrameCodec.self, ticks), chunks: [1, 7, 69, 70, 71, 4096, 3])
        #expect(result.errors.isEmpty)
        #expect(result.ticks == ticks)
        #expect(result.stats.ticks == 20_000)
    }

    @Test func manyFramesPerReadAndFramesSplitAnywhere() {
        let ticks = Array(repeating: akbnk, count: 100)
        let bytes = encoded(BinaryFrameCodec.self, ticks)
        for chunk in [1, 2, 5, 6, 35, 69, 70, 140, 7000] {
            #expect(decodeStream(BinaryFrameCodec.self, bytes, chunks: [chunk]).ticks.count == 100)
        }
    }

    @Test func garbageIsSkippedAndDecodingResynchronises() {
        let garbage: [UInt8] = Array("hello, this is not a feed\u{0}\u{A5}xx".utf8) + [0xA5]
        let bytes = frame() + garbage + frame() + [0xFF, 0xFE] + frame()
        for chunks in [[Int.max], [1], [13, 2]] {
            let result = decodeStream(BinaryFrameCodec.self, bytes, chunks: chunks)
            #expect(result.ticks == [akbnk, akbnk, akbnk])
            #expect(result.errors.allSatisfy { $0.kind == .badMagic })
            #expect(result.stats[.badMagic] >= 2)
        }
    }

    @Test func truncatedFrameAtEndOfStreamIsReported() {
        let bytes = frame() + Array(frame().prefix(40))
        let result = decodeStream(BinaryFrameCodec.self, bytes)
        #expect(result.ticks.count == 1)
        #expect(result.errors == [.truncated(available: 40)])
    }

    @Test func oversizedFrameIsRejectedAndSkipped() {
        let big = frame { b in b[4] = 0xFF; b[5] = 0x7F }
        let result = decodeStream(BinaryFrameCodec.self, big + frame())
        #expect(result.errors.first == .oversized(length: 6 + 0x7FFF, limit: 1024))
        #expect(result.ticks == [akbnk])
    }

    @Test func badVersionTypeAndLength() {
        let cases: [([UInt8], FrameErrorKind)] = [
            (frame { $0[2] = 9 }, .badVersion),
            (frame { $0[3] = 7 }, .badMessageType),
            (frame { $0[4] = 63 }, .badLength),
            (frame { $0[6 + 48] = 9 }, .badField),
        ]
        for (bytes, kind) in cases {
            let result = decodeStream(BinaryFrameCodec.self, bytes + frame())
            #expect(result.errors.first?.kind == kind)
            #expect(result.ticks == [akbnk], "the next frame still decodes after \(kind)")
        }
    }

    @Test func symbolErrorsTellMalformedFromUnknown() {
        let unknown = frame { b in for (i, c) in "ZZZZZ".utf8.enumerated() { b[6 + 50 + i] = c } }
        let malformed = frame { b in b[6 + 50] = UInt8(ascii: "a") }
        let badLength = frame { b in b[6 + 49] = 13 }
        #expect(decodeStream(BinaryFrameCodec.self, unknown).errors == [.unknownSymbol(#""ZZZZZ""#)])
        #expect(decodeStream(BinaryFrameCodec.self, malformed).errors.first?.kind == .badSymbol)
        #expect(decodeStream(BinaryFrameCodec.self, badLength).errors.first?.kind == .badSymbol)
    }

    @Test func nonPositivePriceQuantityAndTimestamp() {
        let zeroPrice = frame { put(0, at: 16, in: &$0) }
        let negativePrice = frame { put(-1, at: 16, in: &$0) }
        let negativeBid = frame { put(-5, at: 32, in: &$0) }
        let zeroVolume = frame { put(0, at: 24, in: &$0) }
        let badTime = frame { put(-1, at: 8, in: &$0) }
        #expect(decodeStream(BinaryFrameCodec.self, zeroPrice).errors.first?.kind == .nonPositivePrice)
        #expect(decodeStream(BinaryFrameCodec.self, negativePrice).errors.first?.kind == .nonPositivePrice)
        #expect(decodeStream(BinaryFrameCodec.self, negativeBid).errors.first?.kind == .nonPositivePrice)
        #expect(decodeStream(BinaryFrameCodec.self, zeroVolume).errors.first?.kind == .badQuantity)
        #expect(decodeStream(BinaryFrameCodec.self, badTime).errors.first?.kind == .badTimestamp)
    }

    @Test func quoteNeedsABidOrAnAsk() {
        var quote = akbnk
        quote.kind = .quote
        quote.price = .zero
        quote.quantity = 0
        #expect(decodeStream(BinaryFrameCodec.self, frame(quote)).ticks == [quote])
        quote.bid = .zero
        quote.ask = .zero
        #expect(decodeStream(BinaryFrameCodec.self, frame(quote)).errors.first?.kind == .nonPositivePrice)
    }

    @Test func everyErrorKindIsCountedSeparately() {
        let bytes = frame { $0[2] = 9 } + frame { $0[3] = 7 } + frame { $0[2] = 9 } + frame()
        let stats = decodeStream(BinaryFrameCodec.self, bytes).stats
        #expect(stats[.badVersion] == 2)
        #expect(stats[.badMessageType] == 1)
        #expect(stats.rejected == 3)
        #expect(stats.ticks == 1)
    }
}
