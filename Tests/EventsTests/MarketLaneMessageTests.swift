import AkisConfig
import Foundation
import Ingest
import Testing
@testable import Events

/// The market lane's messages, its window of messages in flight, and `[kafka]`: pure, no broker.
@Suite struct MarketLaneMessageTests {
    let trade = Tick(symbol: SymbolID(3), kind: .trade, side: .buy, price: Price(units: 15_750_000), quantity: 1000,
                     bid: Price(units: 15_740_000), ask: Price(units: 15_760_000), exchangeTime: 1_727_173_800_123_456_000,
                     sequence: 42, feed: 1)

    @Test func aTickIsTheReferencesMarketDataReceivedWithWhatTheTickCarries() throws {
        var out: [UInt8] = []
        MarketLaneMessage.tick(trade, symbol: .init("AKBNK"), source: .init("main"), into: &out)
        let text = String(decoding: out, as: UTF8.self)
        let id = try #require(text.split(separator: "\"").dropFirst(3).first.map(String.init))
        #expect(text == #"{"eventId":"\#(id)","eventType":"MarketDataReceived","timestamp":"2024-09-24T10:30:00.123456Z","version":"1.0","data":{"symbol":"AKBNK","price":15.75,"volume":1000,"timestamp":"2024-09-24T10:30:00.123456Z","source":"main","kind":"trade","side":"buy","bid":15.74,"ask":15.76,"feed":1,"seq":42}}"#)
        let uuid = try #require(UUID(uuidString: id))
        #expect(id.count == 36 && id == id.lowercased())
        #expect(uuid.uuid.6 >> 4 == 8 && uuid.uuid.8 >> 6 == 2, "version 8, RFC variant")

        // The same tick again (a catch-up, a restart): the same bytes. Another one: another id.
        var again: [UInt8] = []
        MarketLaneMessage.tick(trade, symbol: .init("AKBNK"), source: .init("main"), into: &again)
        #expect(again == out)
        var next = trade
        next.sequence = 43
        MarketLaneMessage.tick(next, symbol: .init("AKBNK"), source: .init("main"), into: &again)
        #expect(String(decoding: again, as: UTF8.self).split(separator: "\"")[3] != Substring(id))
    }

    @Test func aQuoteLeavesOutWhatItDoesNotHaveAndHostileNamesAreEscaped() throws {
        let quote = Tick(symbol: SymbolID(0), kind: .quote, price: .zero, quantity: 0, ask: Price(units: 1_000_001), exchangeTime: 0, sequence: 7, feed: 2)
        var out: [UInt8] = []
        MarketLaneMessage.tick(quote, symbol: .init("GARAN"), source: .init("a\"b\\c"), into: &out)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        let data = try #require(o["data"] as? [String: Any])
        #expect(data["source"] as? String == "a\"b\\c")
        #expect(data["side"] == nil && data["bid"] == nil && data["kind"] as? String == "quote")
        #expect(String(decoding: out, as: UTF8.self).contains(#""ask":1.000001,"#))
    }

    @Test func numberedTicksHaveIdsOfTheirOwn() {
        var ids = Set<UUID>()
        var out: [UInt8] = []
        for (feed, seq, time) in [(1, 42, trade.exchangeTime), (2, 42, trade.exchangeTime), (1, 43, trade.exchangeTime), (1, 42, trade.exchangeTime + 1_000)]
            as [(UInt16, UInt64, Int64)] {
            var t = trade
            t.feed = feed
            t.sequence = seq
            t.exchangeTime = time
            MarketLaneMessage.tick(t, symbol: .init("AKBNK"), source: .init("main"), into: &out)
            let id = String(decoding: out, as: UTF8.self).split(separator: "\"")[3]
            ids.insert(UUID(uuidString: String(id))!)
        }
        #expect(ids.count == 4, "feed, sequence number and time each make a different id")
    }

    @Test func theWindowClaimsOnlyTheAcknowledgedPrefix() {
        var w = InflightWindow()
        for seq in 1...4 as ClosedRange<UInt64> { w.push(feed: 1, seq: seq, time: 0) }
        #expect(w.settle(1, ok: true) != nil)
        #expect(w.popAcknowledged().isEmpty, "token 0 is still out")
        _ = w.settle(0, ok: true)
        #expect(w.popAcknowledged().map(\.entry.seq) == [1, 2])
        _ = w.settle(3, ok: true)
        _ = w.settle(2, ok: false)
        #expect(w.popAcknowledged().map(\.entry.seq) == [4], "a failed message is passed over, not claimed")
        #expect(w.settle(2, ok: true) == nil, "a report for a token outside the window is ignored")
        #expect(w.hasRoom)
    }

    @Test func theDropWatermarkKeepsEachFeedsHighestDroppedSequence() {
        let watermark = DropWatermark(feeds: [1, 2])
        let lane = ConsumerLane(name: "kafka", capacity: 2, policy: .drop, dropWatermark: watermark)
        let ticks = (1...10).map { Tick(symbol: SymbolID(0), kind: .trade, price: Price(units: 1), quantity: 1, exchangeTime: 0, sequence: UInt64($0), feed: $0 == 10 ? 2 : 1) }
        let lost = ticks.withUnsafeBufferPointer { lane.offer($0) }
        #expect(lost == 10 - lane.ring.capacity)
        #expect(watermark.highest(of: 1) == 9 && watermark.highest(of: 2) == 10 && watermark.highest(of: 3) == 0)
    }

    @Test func kafkaSettingsAreCheckedWithKeyAndLine() throws {
        let on = try AkisConfiguration.parse("[kafka]\nbrokers = [\"k1:9092\", \"k2:9092\"]\nmarket_lane_capacity = 4096\n", modules: [KafkaSettings.self])
            .settings(KafkaSettings.self)
        #expect(on.enabled && on.brokers == ["k1:9092", "k2:9092"] && on.marketLane && on.marketLaneCapacity == 4096)
        #expect(on.summary.hasPrefix("brokers k1:9092,k2:9092") && on.summary.contains("market lane of 4096 ticks"), "serve --check-config puts \"kafka: \" before it")
        #expect(on.compression == .lz4 && on.marketLaneLingerNanos == 100_000_000 && on.summary.contains("compression lz4") && on.summary.contains("lingering 100 ms"))
        let tuned = try AkisConfiguration.parse("[kafka]\nbrokers = [\"k1:9092\"]\ncompression = \"zstd\"\nmarket_lane_linger = \"5ms\"\n", modules: [KafkaSettings.self])
            .settings(KafkaSettings.self)
        #expect(tuned.compression == .zstd && tuned.marketLaneLingerNanos == 5_000_000)
        #expect(!(try AkisConfiguration.parse("", modules: [KafkaSettings.self]).settings(KafkaSettings.self).enabled))
        #expect(try AkisConfiguration.parse("[kafka]\nbrokers = [\"[::1]:9092\"]", modules: [KafkaSettings.self]).settings(KafkaSettings.self).brokers == ["[::1]:9092"])
        for (text, message) in [
            ("[kafka]\nbrokers = [\"k1\"]", #"kafka.brokers (line 2): "k1" is not HOST:PORT"#),
            ("[kafka]\nbrokers = [\"k1:99999\"]", #"kafka.brokers (line 2): "k1:99999" is not HOST:PORT"#),
            ("[kafka]\nbrokers = [\"k1:0\"]", #"kafka.brokers (line 2): "k1:0" is not HOST:PORT"#),
            ("[kafka]\ndelivery_timeout = \"10ms\"", "kafka.delivery_timeout (line 2)"),
            ("[kafka]\nmarket_lane_capacity = 10", "kafka.market_lane_capacity (line 2)"),
            ("[kafka]\ncompression = \"brotli\"", "kafka.compression (line 2)"),
            ("[kafka]\nmarket_lane_linger = \"6s\"", "kafka.market_lane_linger (line 2)"),
            ("[kafka]\nbroker = [\"k1:1\"]", "unknown key kafka.broker (line 2)"),
        ] {
            #expect { try AkisConfiguration.parse(text, modules: [KafkaSettings.self]) } throws: { "\($0)".contains(message) }
        }
    }
}
