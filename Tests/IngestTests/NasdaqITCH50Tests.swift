import Foundation
import Ingest
import Testing

/// Nasdaq ITCH 5.0: every message type from bytes built here, and the public sample as a golden file.
@Suite struct NasdaqITCH50Tests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/itch50/ex20101224.TEST_ITCH_50").path

    /// A message: type, locate 7, tracking 3, timestamp 34_200_000_000_123 ns (09:30 and a bit), then `body`.
    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        let ts: UInt64 = 34_200_000_000_123
        return [type.asciiValue!, 0, 7, 0, 3] + (0..<6).map { UInt8(truncatingIfNeeded: ts >> (8 * UInt64(5 - $0))) } + body
    }

    static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func text(_ s: String, _ n: Int) -> [UInt8] { Array((s + String(repeating: " ", count: n - s.count)).utf8) }

    func decode(_ bytes: [UInt8]) -> Result<NasdaqITCH50.Message, FrameError> { bytes.withUnsafeBytes { NasdaqITCH50.decode($0) } }

    @Test func everyTradingMessageDecodesFromItsBytes() throws {
        typealias M = NasdaqITCH50.Message
        let sym = Self.text("AAPL", 8)
        let cases: [([UInt8], M)] = [
            (Self.message("S", [UInt8(ascii: "Q")]), .systemEvent(code: UInt8(ascii: "Q"))),
            (Self.message("R", sym + [UInt8(ascii: "Q"), UInt8(ascii: "N")] + Self.be(UInt32(100)) + [UInt8](repeating: 0x20, count: 14)),
             .stockDirectory(symbol: ExchangeSymbol("AAPL"), marketCategory: UInt8(ascii: "Q"), roundLotSize: 100)),
            (Self.message("H", sym + [UInt8(ascii: "T"), 0x20] + Self.text("", 4)), .tradingAction(symbol: ExchangeSymbol("AAPL"), state: UInt8(ascii: "T"))),
            (Self.message("A", Self.be(UInt64(42)) + [UInt8(ascii: "B")] + Self.be(UInt32(300)) + sym + Self.be(UInt32(1_987_500))),
             .addOrder(reference: 42, side: .buy, shares: 300, symbol: ExchangeSymbol("AAPL"), price: Price("198.75")!, attribution: nil)),
            (Self.message("F", Self.be(UInt64(43)) + [UInt8(ascii: "S")] + Self.be(UInt32(5)) + sym + Self.be(UInt32(1)) + Self.text("GSCO", 4)),
             .addOrder(reference: 43, side: .sell, shares: 5, symbol: ExchangeSymbol("AAPL"), price: Price("0.0001")!,
                       attribution: UInt32(bigEndian: Self.text("GSCO", 4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))),
            (Self.message("E", Self.be(UInt64(42)) + Self.be(UInt32(100)) + Self.be(UInt64(9001))), .orderExecuted(reference: 42, shares: 100, match: 9001)),
            (Self.message("C", Self.be(UInt64(42)) + Self.be(UInt32(50)) + Self.be(UInt64(9002)) + [UInt8(ascii: "Y")] + Self.be(UInt32(1_987_400))),
             .orderExecutedWithPrice(reference: 42, shares: 50, match: 9002, printable: true, price: Price("198.74")!)),
            (Self.message("X", Self.be(UInt64(42)) + Self.be(UInt32(25))), .orderCancel(reference: 42, cancelledShares: 25)),
            (Self.message("D", Self.be(UInt64(42))), .orderDelete(reference: 42)),
            (Self.message("U", Self.be(UInt64(42)) + Self.be(UInt64(44)) + Self.be(UInt32(200)) + Self.be(UInt32(1_990_000))),
             .orderReplace(original: 42, new: 44, shares: 200, price: Price("199")!)),
            (Self.message("P", Self.be(UInt64(0)) + [UInt8(ascii: "B")] + Self.be(UInt32(75)) + sym + Self.be(UInt32(1_988_100)) + Self.be(UInt64(9003))),
             .trade(reference: 0, side: .buy, shares: 75, symbol: ExchangeSymbol("AAPL"), price: Price("198.81")!, match: 9003)),
            (Self.message("Q", Self.be(UInt64(1_000_000)) + sym + Self.be(UInt32(1_985_000)) + Self.be(UInt64(9004)) + [UInt8(ascii: "O")]),
             .crossTrade(shares: 1_000_000, symbol: ExchangeSymbol("AAPL"), price: Price("198.5")!, match: 9004, crossType: UInt8(ascii: "O"))),
            (Self.message("W", [UInt8(ascii: "1")]), .other),
        ]
        for (bytes, expected) in cases {
            #expect(bytes.count == NasdaqITCH50.size(of: bytes[0]), "\(Character(Unicode.Scalar(bytes[0])))")
            guard case .success(let m) = decode(bytes) else { Issue.record("\(Character(Unicode.Scalar(bytes[0]))): \(decode(bytes))"); continue }
            #expect(m == expected)
            let h = bytes.withUnsafeBytes { NasdaqITCH50.header($0) }
            #expect(h.stockLocate == 7 && h.trackingNumber == 3 && h.timestamp == 34_200_000_000_123)
        }
        #expect(ExchangeSymbol("AAPL").text == "AAPL" && ExchangeSymbol("BRK A").text == "BRK A")
    }

    @Test func badMessagesAreSpecificErrors() {
        let add = Self.message("A", Self.be(UInt64(42)) + [UInt8(ascii: "B")] + Self.be(UInt32(300)) + Self.text("AAPL", 8) + Self.be(UInt32(1)))
        guard case .failure(.truncated(available: 35)) = decode(Array(add.dropLast())) else { Issue.record("cut off"); return }
        guard case .failure(.badLength(37)) = decode(add + [0]) else { Issue.record("too long"); return }
        guard case .failure(.badMessageType(0x7A)) = decode([0x7A] + add.dropFirst()) else { Issue.record("type z"); return }
        var badSide = add
        badSide[19] = UInt8(ascii: "?")
        guard case .failure(.badField(name: "side", _)) = decode(badSide) else { Issue.record("side ?"); return }
        guard case .failure(.truncated(available: 0)) = decode([]) else { Issue.record("empty"); return }
    }

    @Test func theSampleFileHasTheDocumentedMessagesAndAllDecode() throws {
        var counts: [Character: Int] = [:]
        var failures = 0
        var symbols: Set<String> = []
        let n = try ITCH50File(path: Self.sample).forEachMessage { bytes in
            counts[Character(Unicode.Scalar(bytes[0])), default: 0] += 1
            switch NasdaqITCH50.decode(bytes) {
            case .success(.stockDirectory(let symbol, _, _)): symbols.insert(symbol.text)
            case .success: break
            case .failure: failures += 1
            }
        }
        #expect(n == 12_012 && failures == 0)
        #expect(counts == ["S": 6, "R": 3, "H": 3, "A": 4997, "F": 3, "E": 198, "X": 45, "D": 1745, "U": 12, "P": 5000])
        #expect(symbols.count == 3)
    }

    @Test func damagedFilesSayWhere() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-itch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = Self.message("D", Self.be(UInt64(1)))
        for (bytes, reason) in [
            (Self.be(UInt16(19)) + d + [0, 0] + d.prefix(5), "byte 21: the file ends inside a message"),
            (Self.be(UInt16(20)) + d, "byte 0: length 20 for a 'D' message of 19 bytes"),
            (Self.be(UInt16(0)) + [0x7A], "byte 2: unknown message type 122"),
            (Self.be(UInt16(19)) + d + [0], "byte 21: the file ends inside a length prefix"),
        ] {
            let path = dir.appendingPathComponent("f").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            #expect { try ITCH50File(path: path).forEachMessage { _ in } } throws: { "\($0)".contains(reason) }
        }
    }

    @Test func theSampleBecomesTradeAndQuoteTicksInItsOwnSymbols() throws {
        let midnight = try #require(ITCH50Ticks.midnight(year: 2010, month: 12, day: 24, timeZone: "America/New_York"))
        #expect(midnight == 1_293_166_800 * 1_000_000_000, "05:00 UTC: New York is UTC-5 in winter")
        let summer: Int64 = 1_561_953_600 * 1_000_000_000
        #expect(try #require(ITCH50Ticks.midnight(year: 2019, month: 7, day: 1, timeZone: "America/New_York")) == summer, "04:00 UTC in summer")
        #expect(ITCH50Ticks.midnight(year: 2019, month: 2, day: 30, timeZone: "America/New_York") == nil)
        #expect(ITCH50Ticks.midnight(year: 2019, month: 1, day: 30, timeZone: "Mars/Base") == nil)

        var converter = ITCH50Ticks(midnight: midnight)
        var reference = ITCH50Replay()
        var ticks: [Tick] = []
        var expectedTrades: [ITCH50Replay.Trade] = []
        var tops: [(bid: Int64, ask: Int64)] = []
        try ITCH50File(path: Self.sample).forEachMessage { bytes in
            let before = ticks.count
            #expect(converter.apply(bytes) { ticks.append($0) } == nil)
            let header = NasdaqITCH50.header(bytes)
            if let t = reference.apply(header, try NasdaqITCH50.decode(bytes).get()) { expectedTrades.append(t) }
            // Each quote made by this message is the book's top after it.
            for t in ticks[before...] where t.kind == .quote {
                let book = reference.books[header.stockLocate]
                tops.append((book?.bestBid?.price ?? 0, book?.bestAsk?.price ?? 0))
                #expect(t.bid.units == tops.last!.bid && t.ask.units == tops.last!.ask)
            }
        }
        let trades = ticks.filter { $0.kind == .trade }
        #expect(converter.symbols.allNames.sorted() == ["ALC", "BOB", "CHAR"] && converter.skippedSymbols.isEmpty)
        #expect(trades.count == 5_180 && trades.count == expectedTrades.count)
        for (t, e) in zip(trades, expectedTrades) {
            #expect(converter.symbols.name(of: t.symbol) == e.symbol.text && t.price == e.price && t.quantity == e.shares)
            #expect(t.exchangeTime == midnight + Int64(e.timestamp))
            #expect(t.side == (e.side == .buy ? .sell : e.side == .sell ? .buy : .unknown), "the aggressor is the resting order's other side")
        }
        #expect(converter.stats.quotes == tops.count && tops.count > 100)
        #expect(ticks.allSatisfy { TickValidation.check($0) == nil })
        #expect(ticks.map(\.exchangeTime) == ticks.map(\.exchangeTime).sorted())
    }
}
