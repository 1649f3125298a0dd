import Events
import Foundation
import Ingest
import Testing

/// The reference's envelope, exactly, and each type's topic and key.
@Suite struct EventTests {
    @Test func theEnvelopeIsTheReferencesInItsOrder() throws {
        let id = UUID(uuidString: "1B4E28BA-2FA1-11D2-883F-0016D3CCA427")!
        let time: Int64 = 1_727_173_800_123_000_000  // 2024-09-24T10:30:00.123Z
        let event = Event(.orderCreated, key: "u-1", data: [
            ("orderId", .string("o-9")), ("userId", .string("u-1")), ("symbol", .string("AKBNK")), ("side", .string("BUY")),
            ("quantity", .integer(1000)), ("price", .price(Price(units: 15_750_000))), ("orderType", .string("LIMIT")),
        ], id: id, time: time)
        #expect(String(decoding: event.envelope, as: UTF8.self) == """
            {"eventId":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","eventType":"OrderCreated","timestamp":"2024-09-24T10:30:00.123Z",\
            "version":"1.0","data":{"orderId":"o-9","userId":"u-1","symbol":"AKBNK","side":"BUY","quantity":1000,"price":15.75,"orderType":"LIMIT"}}
            """)
        #expect(event.envelope == event.envelope, "the same bytes every time")
        // Valid JSON, whatever a string holds.
        let hostile = Event(.userProfileUpdated, key: "u\"1", data: [("name", .string("a\"b\\c\n\u{1}\u{2028}ş"))], id: id, time: time)
        let parsed = try JSONSerialization.jsonObject(with: Data(hostile.envelope)) as? [String: Any]
        #expect((parsed?["data"] as? [String: Any])?["name"] as? String == "a\"b\\c\n\u{1}\u{2028}ş")
    }

    @Test func everyTypeHasTheReferencesTopicAndItsKey() {
        #expect(EventType.allCases.count == 19)
        let topics = Dictionary(grouping: EventType.allCases, by: \.topic).mapValues { $0.map(\.rawValue).sorted() }
        #expect(topics[.user] == ["UserEmailVerified", "UserProfileUpdated", "UserRegistered"])
        #expect(topics[.audit] == ["UserLoggedIn", "UserLoginFailed"])
        #expect(topics[.trading]?.count == 10)
        #expect(topics[.market] == ["CandleClosed", "MarketDataReceived", "TradingSessionChanged"])
        #expect(topics[.notification] == ["PriceAlertTriggered"])
        #expect(EventType.allCases.filter { $0.partitionKey == .symbol } == [.marketDataReceived, .candleClosed, .tradingSessionChanged])
        #expect(Topic.allCases.map(\.retentionDays) == [30, 2555, 1, 7, 3650])
        #expect(Topic.allCases.map(\.partitions) == [6, 12, 24, 3, 6])
    }
}

/// The chain alone: every change, removal, insertion or reordering is found, at the event.
@Suite struct AuditChainTests {
    func chain(_ n: Int) -> [(Int64, [UInt8], [UInt8])] {
        var previous = AuditChain.genesis
        return (1...Int64(n)).map { s in
            let envelope = Array("{\"n\":\(s)}".utf8)
            previous = AuditChain.link(previous: previous, sequence: s, envelope: envelope)
            return (s, envelope, previous)
        }
    }

    func verify(_ events: [(Int64, [UInt8], [UInt8])], after: (Int64, [UInt8])? = nil) -> AuditChain.BrokenLink? {
        var v = AuditChain.Verifier(after: after.map { (sequence: $0.0, hash: $0.1) })
        do { for e in events { try v.check(sequence: e.0, envelope: e.1, hash: e.2) } } catch { return error }
        return nil
    }

    @Test func anIntactChainVerifies() {
        #expect(verify(chain(100)) == nil)
        let events = chain(100)
        #expect(verify(Array(events[40...]), after: (40, events[39].2)) == nil, "from a retention checkpoint")
    }

    @Test func tamperingIsFoundAtTheEvent() {
        var changed = chain(50)
        changed[20].1 = Array("{\"n\":99}".utf8)
        #expect(verify(changed)?.sequence == 21)

        var rehashed = chain(50)  // changed and its own hash recomputed: the next link breaks
        rehashed[20].1 = Array("{\"n\":99}".utf8)
        rehashed[20].2 = AuditChain.link(previous: rehashed[19].2, sequence: 21, envelope: rehashed[20].1)
        #expect(verify(rehashed)?.sequence == 22)

        var removed = chain(50)
        removed.remove(at: 30)
        #expect(verify(removed).map { ($0.sequence, $0.reason) } ?? (0, "") == (32, "events 31...31 are missing"))

        var swapped = chain(50)
        swapped.swapAt(10, 11)
        #expect(verify(swapped)?.sequence == 12)
        #expect(verify(Array(chain(50)[1...]))?.sequence == 2, "the first event missing")
    }
}
