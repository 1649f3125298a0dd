import Ingest
import Testing

@Suite struct PriceTests {
    @Test(arguments: [
        ("15.75", Int64(15_750_000)), ("15", 15_000_000), ("0.000001", 1), ("1.575e1", 15_750_000),
        ("1575E-2", 15_750_000), ("-3.5", -3_500_000), ("0", 0), ("9223372036854.775807", Int64.max),
    ])
    func parsesExactly(text: String, units: Int64) {
        #expect(Price(text)?.units == units)
    }

    @Test(arguments: ["15.7500001", "1e-7", "abc", "", "1.", ".5", "1..2", "+1", "1e", "--1", "15.75x", "99999999999999"])
    func rejectsInexactOrMalformed(text: String) {
        #expect(Price(text) == nil)
    }

    @Test func formatsShortestExactText() {
        #expect(Price(units: 15_750_000).description == "15.75")
        #expect(Price(units: 16_000_000).description == "16")
        #expect(Price(units: 1).description == "0.000001")
        #expect(Price(units: -500_000).description == "-0.5")
        #expect(Price(units: 0).description == "0")
    }

    @Test func roundTripsManyValuesThroughText() {
        var state: UInt64 = 42
        for _ in 0..<10_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let units = Int64(bitPattern: state) % 10_000_000_000_000
            let price = Price(units: units)
            #expect(Price(price.description) == price)
        }
    }

    @Test func scaledDecimalDistinguishesFailures() {
        func parse(_ s: String, _ scale: Int) -> Result<Int64, ScaledDecimal.ParseError> {
            var s = s
            return s.withUTF8 { ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: scale) }
        }
        #expect(parse("10000", 0) == .success(10_000))
        #expect(parse("10000.5", 0) == .failure(.tooManyDecimals))
        #expect(parse("1e30", 0) == .failure(.overflow))
        #expect(parse("x", 0) == .failure(.notANumber))
    }
}

@Suite struct UTCTimeTests {
    func parse(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { UTCTime.parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    @Test func parsesTheReferenceTimestamp() {
        let reference: Int64 = 1_727_173_800_000_000_000  // 2024-09-24T10:30:00Z
        #expect(parse("2024-09-24T10:30:00.000Z") == reference)
        #expect(parse("2024-09-24T10:30:00Z") == reference)
        #expect(parse("2024-09-24T10:30:00.123456789Z") == reference + 123_456_789)
        #expect(parse("2024-09-24T13:30:00.000+03:00") == reference)
        #expect(parse("2024-02-29T00:00:00Z") != nil)
    }

    @Test(arguments: [
        "2024-09-24 10:30:00Z", "2024-09-24T10:30:00", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-09-24T24:00:00Z", "2024-09-24T10:30:00.Z", "2024-09-24T10:30:00.1234567891Z", "1969-12-31T23:59:59Z",
        "2024-09-24T10:30:00+3:00", "not a time at all!!", "2024-09-24T10:30:00ZZ",
    ])
    func rejectsMalformed(text: String) {
        #expect(parse(text) == nil)
    }

    @Test func formatRoundTrips() {
        for nanos: Int64 in [0, 1, 999, 1_000_000, 1_727_173_800_123_000_000, 1_727_173_800_123_456_000, 1_727_173_800_123_456_789] {
            #expect(parse(UTCTime.formatISO8601(nanos)) == nanos)
        }
        #expect(UTCTime.formatISO8601(1_727_173_800_000_000_000) == "2024-09-24T10:30:00.000Z")
    }

    @Test func civilDateConversionIsConsistent() {
        for days in stride(from: -1000, to: 120_000, by: 37) {
            let (y, m, d) = UTCTime.civilFromDays(days)
            #expect(UTCTime.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }
}

@Suite struct SymbolTableTests {
    @Test(arguments: ["AKBNK", "THYAO", "A1CAP", "GARAN.E", "X", "ABCDEFGH", "ISCTR.ABC"])
    func acceptsBISTSymbols(name: String) throws {
        var table = SymbolTable()
        let id = try table.intern(name)
        #expect(table.name(of: id) == name)
        #expect(table.id(for: name) == id)
    }

    @Test(arguments: ["akbnk", "1ABC", "", "ABCDEFGHI", "AKBNK.", "AKBNK.ABCD", "AK BNK", "AKBNK;DROP", "ŞİŞE", "AK\u{0}"])
    func rejectsMalformedSymbols(name: String) {
        var table = SymbolTable()
        #expect(throws: SymbolError.self) { try table.intern(name) }
    }

    @Test func internIsIdempotentAndDense() throws {
        var table = try SymbolTable(["AKBNK", "THYAO"])
        #expect(try table.intern("AKBNK") == SymbolID(0))
        #expect(try table.intern("GARAN") == SymbolID(2))
        #expect(table.count == 3)
        #expect(table.id(for: "SISE") == nil)
    }

    @Test func errorMessagesEscapeHostileText() {
        let error = SymbolError.invalidFormat("A\u{1B}[31mB\"x")
        #expect(error.description.contains(#"\x1B"#))
        #expect(!error.description.contains("\u{1B}"))
    }
}

@Suite struct TickLayoutTests {
    @Test func tickIsAtMost64Bytes() {
        #expect(MemoryLayout<Tick>.size <= 64)
        #expect(MemoryLayout<Tick>.stride <= 64)
    }
}

@Suite struct BISTMarketTests {
    @Test func priceStepsFollowTheBands() {
        #expect(TickSizeTable.bistEquity.step(at: Price("19.99")!) == Price("0.01")!.units)
        #expect(TickSizeTable.bistEquity.step(at: Price("20")!) == Price("0.02")!.units)
        #expect(TickSizeTable.bistEquity.step(at: Price("99.95")!) == Price("0.05")!.units)
        #expect(TickSizeTable.bistEquity.step(at: Price("291.25")!) == Price("0.25")!.units)
        #expect(TickSizeTable.bistEquity.step(at: Price("2500")!) == Price("2.5")!.units)
        #expect(TickSizeTable.bistEquity.contains(Price("291.25")!))
        #expect(!TickSizeTable.bistEquity.contains(Price("291.20")!))
    }

    @Test func neighbouringPricesStayOnTheGridAcrossBands() {
        #expect(TickSizeTable.bistEquity.stepAbove(Price("19.99")!) == Price("20"))
        #expect(TickSizeTable.bistEquity.stepAbove(Price("19.98")!) == Price("19.99"))
        #expect(TickSizeTable.bistEquity.stepBelow(Price("20")!) == Price("19.99"))
        #expect(TickSizeTable.bistEquity.stepBelow(Price("250")!) == Price("249.9"))
        #expect(TickSizeTable.bistEquity.stepAbove(Price("249.9")!) == Price("250"))
        #expect(TickSizeTable.bistEquity.stepBelow(Price("0.01")!) == Price("0.01"))
        var p = Price("5")!
        while p < Price("3000")! {
            let next = TickSizeTable.bistEquity.stepAbove(p)
            #expect(TickSizeTable.bistEquity.contains(next) && next > p)
            #expect(TickSizeTable.bistEquity.stepBelow(next) == p)
            p = next
        }
    }

    @Test func sessionOpensAtTenIstanbulTime() {
        // Turkey is UTC+3 all year: 10:00 local is 07:00Z.
        let open = BISTMarket.continuousSessionStart(year: 2024, month: 9, day: 24)
        #expect(UTCTime.formatISO8601(open) == "2024-09-24T07:00:00.000Z")
    }
}
