import Fanout
import Ingest
import Testing
@testable import Bench

@Suite struct StreamMessageTests {
    let symbols = try! SymbolTable(["GARAN", "AKBNK"])

    func parse(_ text: String) -> StreamMessage {
        Array(text.utf8).withUnsafeBytes { StreamMessage.parse($0, symbols: symbols) }
    }

    @Test func readsATickAsTheDaemonWritesIt() {
        let t = Tick(symbol: SymbolID(1), kind: .trade, side: .buy, price: Price(units: 4_512_000), quantity: 10,
                     bid: Price(units: 4_510_000), ask: Price(units: 4_514_000), exchangeTime: 1_790_000_000_123_456_789, sequence: 987_654_321)
        let text = MarketMessage.tick(t, symbol: "AKBNK")
        #expect(parse(text) == .tick(symbol: SymbolID(1), exchangeTime: 1_790_000_000_123_456_789, sequence: 987_654_321))
    }

    @Test func aTickOfAnUnknownSymbolHasNoID() {
        let text = #"{"type":"MARKET_TICK","data":{"symbol":"THYAO","price":1,"volume":1,"timestamp":"2026-11-29T10:00:00.000Z","kind":"trade","seq":5}}"#
        #expect(parse(text) == .tick(symbol: nil, exchangeTime: 1_795_946_400_000_000_000, sequence: 5))
    }

    @Test func otherMessages() {
        #expect(parse(#"{"type":"SUBSCRIBED","data":{"symbols":["GARAN"],"subscriptions":["GARAN"]}}"#) == .subscribed)
        #expect(parse(#"{"type":"CANDLE","data":{}}"#) == .candle)
        #expect(parse(#"{"type":"SNAPSHOT","data":{}}"#) == .snapshot)
        #expect(parse(#"{"type":"ERROR","data":{"message":"unknown symbol XYZ"}}"#) == .error("unknown symbol XYZ"))
        #expect(parse(#"{"type":"PING"}"#) == .other(#"{"type":"PING"}"#))
        #expect(parse("not json") == .other("not json"))
    }

    @Test func aDamagedTickIsNotATick() {
        // No sequence, a bad time, a sequence past UInt64.
        for text in [#"{"type":"MARKET_TICK","data":{"symbol":"GARAN","timestamp":"2026-11-29T10:00:00Z"}}"#,
                     #"{"type":"MARKET_TICK","data":{"symbol":"GARAN","timestamp":"yesterday","seq":1}}"#,
                     #"{"type":"MARKET_TICK","data":{"symbol":"GARAN","timestamp":"2026-11-29T10:00:00Z","seq":99999999999999999999}}"#] {
            guard case .other = parse(text) else { Issue.record("parsed \(text)"); continue }
        }
    }
}
