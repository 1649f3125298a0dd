import Ingest
import Testing

/// BIST ITCH messages and MoldUDP64 packets from bytes built here, field by field.
@Suite struct BISTITCHTests {
    static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func text(_ s: String, _ n: Int) -> [UInt8] { Array((s + String(repeating: " ", count: n - s.count)).utf8) }
    static func c(_ s: Character) -> UInt8 { s.asciiValue! }

    func decode(_ bytes: [UInt8]) -> Result<BISTITCH.Message, FrameError> { bytes.withUnsafeBytes { BISTITCH.decode($0) } }

    static let ns = be(UInt32(123_456_789))
    static let directory: [UInt8] = [c("R")] + ns + be(UInt32(70616)) + text("GARAN.E", 32) + text("TURKIYE GARANTI BANKASI", 32)
        + text("TRAGARAN91N1", 12) + [4] + text("TRY", 3) + be(UInt16(3)) + be(UInt16(0)) + be(UInt32(1)) + be(UInt32(1)) + be(UInt32(1000))
        + be(UInt64(1)) + [0] + be(UInt32(0)) + be(UInt32(0)) + be(UInt32(0)) + be(UInt16(0)) + [0] + [1]

    @Test func everyMessageTypeDecodesFromItsBytes() {
        typealias M = BISTITCH.Message
        let ns: UInt32 = 123_456_789
        let cases: [([UInt8], M)] = [
            ([Self.c("T")] + Self.be(UInt32(1_727_254_800)), .seconds(1_727_254_800)),
            (Self.directory, .orderBookDirectory(nanos: ns, book: 70616, symbol: ExchangeSymbol("GARAN.E"), isin: ExchangeSymbol("TRAGARAN91N1"),
                                                 financialProduct: 4, priceDecimals: 3, nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1000)),
            ([Self.c("L")] + Self.ns + Self.be(UInt32(70616)) + Self.be(UInt64(10)) + Self.be(UInt32(0)) + Self.be(UInt32(19_990)),
             .tickSize(nanos: ns, book: 70616, tickSize: 10, from: 0, to: 19_990)),
            ([Self.c("S")] + Self.ns + [Self.c("O")], .systemEvent(nanos: ns, code: Self.c("O"))),
            ([Self.c("O")] + Self.ns + Self.be(UInt32(70616)) + Self.text("P_SUREKLI_ISLEM", 20),
             .orderBookState(nanos: ns, book: 70616, state: ExchangeSymbol("P_SUREKLI_ISLEM"))),
            ([Self.c("A")] + Self.ns + Self.be(UInt64(77)) + Self.be(UInt32(70616)) + [Self.c("B")] + Self.be(UInt32(5)) + Self.be(UInt64(300))
                + Self.be(Int32(121_300)) + Self.be(UInt16(8)) + [1] + Self.be(UInt64(99)),
             .addOrder(nanos: ns, order: 77, book: 70616, side: .buy, rankingSequence: 5, quantity: 300, price: 121_300, attributes: 8, lotType: 1,
                       rankingTime: 99)),
            ([Self.c("E")] + Self.ns + Self.be(UInt64(77)) + Self.be(UInt32(70616)) + [Self.c("B")] + Self.be(UInt64(100)) + Self.be(UInt64(5001))
                + Self.be(UInt32(0)) + [UInt8](repeating: 0, count: 14),
             .orderExecuted(nanos: ns, order: 77, book: 70616, side: .buy, quantity: 100, match: 5001, comboGroup: 0)),
            ([Self.c("C")] + Self.ns + Self.be(UInt64(77)) + Self.be(UInt32(70616)) + [Self.c("S")] + Self.be(UInt64(50)) + Self.be(UInt64(5002))
                + Self.be(UInt32(0)) + [UInt8](repeating: 0, count: 14) + Self.be(UInt32(121_250)) + [Self.c("N"), Self.c("Y")],
             .orderExecutedWithPrice(nanos: ns, order: 77, book: 70616, side: .sell, quantity: 50, match: 5002, comboGroup: 0, price: 121_250,
                                     occurredAtCross: false, printable: true)),
            ([Self.c("D")] + Self.ns + Self.be(UInt64(77)) + Self.be(UInt32(70616)) + [Self.c("B")], .orderDelete(nanos: ns, order: 77, book: 70616, side: .buy)),
            ([Self.c("P")] + Self.ns + Self.be(UInt64(5003)) + Self.be(UInt32(0)) + [Self.c("S")] + Self.be(UInt64(40)) + Self.be(UInt32(70616))
                + Self.be(UInt32(121_200)) + [UInt8](repeating: 0, count: 14) + [Self.c("Y"), Self.c("N")],
             .trade(nanos: ns, match: 5003, comboGroup: 0, side: .sell, quantity: 40, book: 70616, price: 121_200, printable: true, occurredAtCross: false)),
            ([Self.c("Z")] + Self.ns + Self.be(UInt32(70616)) + Self.be(UInt64(1000)) + Self.be(UInt64(900)) + Self.be(UInt32(121_100))
                + Self.be(UInt32(121_000)) + Self.be(UInt32(121_200)) + Self.be(UInt64(10)) + Self.be(UInt64(20)),
             .equilibrium(nanos: ns, book: 70616, bidQuantity: 1000, askQuantity: 900, price: 121_100, bestBid: 121_000, bestAsk: 121_200,
                          bestBidQuantity: 10, bestAskQuantity: 20)),
            ([Self.c("Y")] + [UInt8](repeating: 0, count: 8), .other(Self.c("Y"))),
            ([Self.c("V")] + [UInt8](repeating: 0, count: 9), .other(Self.c("V"))),
            ([Self.c("M")] + [UInt8](repeating: 0, count: 17), .other(Self.c("M"))),
        ]
        for (bytes, expected) in cases {
            #expect(bytes.count == BISTITCH.size(of: bytes[0]), "\(Character(Unicode.Scalar(bytes[0])))")
            guard case .success(let m) = decode(bytes) else { Issue.record("\(Character(Unicode.Scalar(bytes[0]))): \(decode(bytes))"); continue }
            #expect(m == expected)
        }
    }

    @Test func malformedMessagesAreSpecificErrors() {
        let delete = [Self.c("D")] + Self.ns + Self.be(UInt64(77)) + Self.be(UInt32(70616)) + [Self.c("B")]
        guard case .failure(.truncated(available: 17)) = decode(Array(delete.dropLast())) else { Issue.record("cut off"); return }
        guard case .failure(.badLength(19)) = decode(delete + [0]) else { Issue.record("too long"); return }
        guard case .failure(.badMessageType(0x71)) = decode([0x71] + delete.dropFirst()) else { Issue.record("type q"); return }
        var side = delete
        side[17] = Self.c("X")
        guard case .failure(.badField(name: "side", _)) = decode(side) else { Issue.record("side X"); return }
        var long = Self.directory
        long[30] = Self.c("Z")  // a 22-character symbol
        guard case .failure(.badSymbol) = decode(long) else { Issue.record("long symbol"); return }
    }

    @Test func moldPacketsCarryNumberedMessagesHeartbeatsAndTheEnd() throws {
        let session = MoldUDP64Packet.Session("BIST000042")
        #expect(session.description == "BIST000042")
        let a = [Self.c("S")] + Self.ns + [Self.c("O")]
        let b = [Self.c("T")] + Self.be(UInt32(7))
        let bytes = MoldUDP64Packet.packet(session: session, sequence: 1000, messages: [a, b])
        #expect(bytes.count == 20 + 2 + a.count + 2 + b.count)
        try bytes.withUnsafeBytes { raw in
            let p = try MoldUDP64Packet.parse(raw).get()
            #expect(p.session == session && p.sequence == 1000 && p.count == 2 && !p.isHeartbeat && !p.isEndOfSession)
            var seen: [(UInt64, [UInt8])] = []
            #expect(p.forEachMessage { seen.append(($0, Array($1))) } == nil)
            #expect(seen.map(\.0) == [1000, 1001] && seen.map(\.1) == [a, b])
        }
        // A heartbeat names the next sequence; the end of session carries nothing.
        try MoldUDP64Packet.request(session: session, sequence: 1002, count: 0).withUnsafeBytes { raw in
            let p = try MoldUDP64Packet.parse(raw).get()
            #expect(p.isHeartbeat && p.sequence == 1002 && p.messageCount == 0)
        }
        try MoldUDP64Packet.request(session: session, sequence: 1002, count: 0xFFFF).withUnsafeBytes { raw in
            let p = try MoldUDP64Packet.parse(raw).get()
            #expect(p.isEndOfSession && p.messageCount == 0 && p.forEachMessage { _, _ in Issue.record("a message after the end") } == nil)
        }
        // A retransmission request is the bare header.
        #expect(MoldUDP64Packet.request(session: session, sequence: 0x0102, count: 3) == Array("BIST000042".utf8) + [0, 0, 0, 0, 0, 0, 1, 2, 0, 3])
    }

    @Test func damagedPacketsDeliverWhatIsWholeAndSayWhatIsNot() throws {
        let session = MoldUDP64Packet.Session("S1")
        let a = [Self.c("T")] + Self.be(UInt32(7))
        var bytes = MoldUDP64Packet.packet(session: session, sequence: 5, messages: [a, a])
        bytes.removeLast(2)  // the second block is cut
        try bytes.withUnsafeBytes { raw in
            let p = try MoldUDP64Packet.parse(raw).get()
            var seen = 0
            guard case .truncated = p.forEachMessage({ _, _ in seen += 1 }) else { Issue.record("a cut block went unnoticed"); return }
            #expect(seen == 1)
        }
        let extra = MoldUDP64Packet.packet(session: session, sequence: 5, messages: [a]) + [0xEE]
        try extra.withUnsafeBytes { raw in
            guard case .badLength = try MoldUDP64Packet.parse(raw).get().forEachMessage({ _, _ in }) else { Issue.record("trailing bytes went unnoticed"); return }
        }
        [UInt8](repeating: 0, count: 19).withUnsafeBytes { raw in
            guard case .failure(.truncated(available: 19)) = MoldUDP64Packet.parse(raw) else { Issue.record("a short header was taken"); return }
        }
    }
}
