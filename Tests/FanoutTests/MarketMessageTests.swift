import Aggregator
import Fanout
import Foundation
import Ingest
import Testing

@Suite struct MarketMessageTests {
    let t0: Int64 = 1_727_173_800_000_000_000  // 2024-09-24T10:30:00Z

    @Test func aCandleMessageHasTheReferenceShapeAndExactPrices() throws {
        var c = Candle(trade: Tick(symbol: SymbolID(0), kind: .trade, price: Price("15.75")!, quantity: 10_000, exchangeTime: t0 + 5, sequence: 1))
        c.add(Tick(symbol: SymbolID(0), kind: .trade, price: Price("15.8")!, quantity: 1, exchangeTime: t0 + 9, sequence: 2))
        let text = MarketMessage.candle(c, symbol: "AKBNK", corrected: false)
        #expect(text.hasPrefix("{\"type\":\"CANDLE\",\"data\":{\"symbol\":\"AKBNK\",\"interval\":\"1m\",\"open\":15.75,\"high\":15.8,\"low\":15.75,\"close\":15.8,\"volume\":10001,\"start\":\"2024-09-24T10:30:00.000Z\""))
        // Valid JSON, and an independent parser reads the same numbers.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let data = try #require(object["data"] as? [String: Any])
        #expect(object["type"] as? String == "CANDLE" && data["tradeCount"] as? Int == 2 && data["corrected"] as? Bool == false)
        #expect("\(data["vwap"]!)" == "15.750005")
    }

    @Test func aTickMessageLeavesOutAbsentQuotes() throws {
        let trade = Tick(symbol: SymbolID(0), kind: .trade, price: Price("15.75")!, quantity: 10_000, exchangeTime: t0, sequence: 7)
        #expect(MarketMessage.tick(trade, symbol: "AKBNK")
                == "{\"type\":\"MARKET_TICK\",\"data\":{\"symbol\":\"AKBNK\",\"price\":15.75,\"volume\":10000,\"timestamp\":\"2024-09-24T10:30:00.000Z\",\"kind\":\"trade\",\"seq\":7}}")
        let quote = Tick(symbol: SymbolID(0), kind: .quote, price: .zero, quantity: 0, bid: Price("15.74")!, ask: Price("15.76")!, exchangeTime: t0, sequence: 8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(MarketMessage.tick(quote, symbol: "AKBNK").utf8)) as? [String: Any])
        #expect((object["data"] as? [String: Any])?["bid"] != nil)
    }

    @Test func feedStatusSaysReconnectedStaleOrFresh() throws {
        #expect(MarketMessage.feedStatus(FeedNotice(feed: "algolab", disconnectedAt: t0, reconnectedAt: t0 + 1_000_000))
                == #"{"type":"FEED_STATUS","data":{"feed":"algolab","status":"RECONNECTED","possibleGap":true,"from":"2024-09-24T10:30:00.000Z","to":"2024-09-24T10:30:00.001Z"}}"#)
        let stale = MarketMessage.feedStatus(FeedNotice(feed: "bist", status: .stale, at: t0, symbols: ["AKBNK", "GARAN"], reason: "3 messages from 17 lost (\"x\")"))
        #expect(stale == #"{"type":"FEED_STATUS","data":{"feed":"bist","status":"STALE","possibleGap":true,"from":"2024-09-24T10:30:00.000Z","to":"2024-09-24T10:30:00.000Z","symbols":["AKBNK","GARAN"],"reason":"3 messages from 17 lost (\"x\")"}}"#)
        let fresh = try #require(try JSONSerialization.jsonObject(with: Data(MarketMessage.feedStatus(FeedNotice(feed: "bist", status: .fresh, at: t0, symbols: [], reason: "session AKIS000002 started")).utf8)) as? [String: Any])
        let data = try #require(fresh["data"] as? [String: Any])
        #expect(data["status"] as? String == "FRESH" && data["possibleGap"] as? Bool == false && (data["symbols"] as? [Any])?.isEmpty == true)
    }
}
