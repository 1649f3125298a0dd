import Ingest
import Testing

@Suite struct JSONLineCodecTests {
    let reference = #"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":15.75,"volume":10000,"timestamp":"2024-09-24T10:30:00.000Z","bidPrice":15.74,"askPrice":15.76}}"#

    func decode(_ line: String, chunks: [Int] = [Int.max]) -> (ticks: [Tick], errors: [FrameError], stats: DecodeStats) {
        decodeStream(JSONLineCodec.self, Array((line + "\n").utf8), chunks: chunks, receiveTime: 99)
    }

    @Test func decodesTheReferenceDocumentShape() throws {
        let result = decode(reference)
        #expect(result.errors.isEmpty)
        let tick = try #require(result.ticks.first)
        #expect(testSymbols.name(of: tick.symbol) == "AKBNK")
        #expect(tick.price.description == "15.75")
        #expect(tick.quantity == 10_000)
        #expect(tick.bid.description == "15.74")
        #expect(tick.ask.description == "15.76")
        #expect(tick.exchangeTime == 1_727_173_800_000_000_000)
        #expect(tick.receiveTime == 99)
        #expect(tick.kind == .trade)
        #expect(tick.feed == 3)
    }

    @Test func acceptsKeysInAnyOrderWhitespaceExtensionsAndUnknownKeys() throws {
        let line = #"  { "data" : { "lastUpdate":"2024-09-24T10:30:00.123Z", "timestamp":"2024-09-24T10:30:00.5Z", "volume":1e2, "price":"#
            + #"291.25, "symbol":"THYAO", "sequence": 42, "side":"SELL", "extra":{"a":[1,2,{"b":null}],"c":true} } , "type":"MARKET_TICK", "v":"1.0"}  "#
        let result = decode(line + "\r")
        #expect(result.errors.isEmpty)
        let tick = try #require(result.ticks.first)
        #expect(tick.sequence == 42)
        #expect(tick.side == .sell)
        #expect(tick.quantity == 100)
        #expect(tick.price == Price("291.25"))
    }

    @Test func propertyEncodeThenDecodeIsIdentity() {
        var r = TestRandom(state: 7)
        let ticks = (0..<5_000).map { _ in generatedTick(&r, receiveTime: 5) }
        let result = decodeStream(JSONLineCodec.self, encoded(JSONLineCodec.self, ticks), chunks: [1, 3, 100, 4096, 17], receiveTime: 5)
        #expect(result.errors.isEmpty)
        #expect(result.ticks == ticks)
    }

    @Test func encodesTheReferenceShape() {
        let tick = decode(reference).ticks[0]
        var out: [UInt8] = []
        JSONLineCodec.encode(tick, symbols: testSymbols, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == reference + "\n")
    }

    @Test(arguments: [
        ("not json", FrameErrorKind.badJSON),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":15.75,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}"#, .badJSON),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":15.75,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}} x"#, .badJSON),
        (#"{"type":"MARKET_TICK"}"#, .badJSON),
        (#"{"data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badJSON),
        (#"{"type":"ORDER","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badJSON),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badJSON),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"price":2,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badJSON),
        (#"{"type":"MARKET_TICK","data":{"symbol":"akbnk","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badSymbol),
        (#"{"type":"MARKET_TICK","data":{"symbol":"\u0041KBNK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"ZZZZZ","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .unknownSymbol),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":0,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .nonPositivePrice),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":-15.75,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .nonPositivePrice),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":15.7500001,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":"15.75","volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1e400,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1.5,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":0,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badQuantity),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"yesterday"}}"#, .badTimestamp),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"2024-02-30T10:30:00Z"}}"#, .badTimestamp),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z","side":"UP"}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z","sequence":-1}}"#, .badField),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","kind":"QUOTE","timestamp":"2024-09-24T10:30:00Z"}}"#, .nonPositivePrice),
        (#"{"type":"MARKET_TICK","data":{"symbol":"AKB"# + "\u{1}" + #"NK","price":1,"volume":1,"timestamp":"2024-09-24T10:30:00Z"}}"#, .badJSON),
    ])
    func rejectsBadInputWithASpecificError(line: String, kind: FrameErrorKind) {
        let result = decode(line)
        #expect(result.ticks.isEmpty)
        #expect(result.errors.map(\.kind) == [kind], "\(result.errors)")
    }

    @Test func deepNestingIsRejectedCheaply() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let line = #"{"type":"MARKET_TICK","x":"# + deep + #","data":{}}"#
        #expect(decode(line).errors.first == .badJSON("nesting deeper than 32"))
    }

    @Test func oversizedLineIsDroppedEvenAcrossReadsAndTheNextLineDecodes() {
        let huge = #"{"type":"MARKET_TICK","pad":""# + String(repeating: "x", count: 5000) + #""}"#
        let bytes = Array((huge + "\n" + reference + "\n").utf8)
        for chunks in [[Int.max], [100], [1000, 7], [1]] {
            let result = decodeStream(JSONLineCodec.self, bytes, chunks: chunks)
            #expect(result.errors.map(\.kind) == [.oversized], "chunks \(chunks)")
            #expect(result.ticks.count == 1, "chunks \(chunks)")
        }
    }

    @Test func blankLinesAreIgnoredAndAMissingFinalNewlineIsTruncation() {
        let bytes = Array(("\n\n" + reference + "\n   \n" + reference).utf8)
        let result = decodeStream(JSONLineCodec.self, bytes)
        #expect(result.ticks.count == 1)
        #expect(result.errors.map(\.kind) == [.truncated])
    }

    @Test func hostileStringsNeverReachErrorMessagesRaw() {
        let line = #"{"type":"MARKET_TICK","data":{"symbol":"AKBNK","price":1,"volume":1,"timestamp":"\u001b[2J","side":"BUY"}}"#
        let message = decode(line).errors.first?.description ?? ""
        #expect(message.contains("bad timestamp") || message.contains("escape"))
        #expect(!message.contains("\u{1B}"))
    }

    @Test func quoteLinesCarryBidAndAsk() throws {
        let line = #"{"type":"MARKET_TICK","data":{"symbol":"GARAN","kind":"QUOTE","bidPrice":112.4,"askPrice":112.5,"timestamp":"2024-09-24T10:30:01Z"}}"#
        let tick = try #require(decode(line).ticks.first)
        #expect(tick.kind == .quote)
        #expect(tick.price == .zero)
        #expect(tick.bid == Price("112.4"))
        #expect(tick.ask == Price("112.5"))
    }
}
