import Fanout
import Ingest
import Testing

@Suite struct SubscriptionTableTests {
    let garan = SymbolID(0), akbnk = SymbolID(1), thyao = SymbolID(2)

    @Test func subscribersAreKeptPerSymbolInOrderAndOnce() {
        var t = SubscriptionTable(symbolCount: 3)
        t.subscribe(7, to: [garan, akbnk])
        t.subscribe(3, to: [garan])
        t.subscribe(7, to: [garan])
        #expect(t.subscribers(of: garan) == [7, 3])
        #expect(t.subscribers(of: akbnk) == [7])
        #expect(!t.hasSubscribers(thyao) && t.hasSubscribers(garan))
        #expect(t.symbols(of: 7) == [garan, akbnk])
    }

    @Test func unsubscribingAndRemovingForgetTheClient() {
        var t = SubscriptionTable(symbolCount: 3)
        t.subscribe(1, to: [garan, akbnk, thyao])
        t.subscribe(2, to: [akbnk])
        t.unsubscribe(1, from: [akbnk, akbnk])
        #expect(t.subscribers(of: akbnk) == [2] && t.symbols(of: 1) == [garan, thyao])
        t.unsubscribe(2, from: [garan])  // not held: ignored
        #expect(t.subscribers(of: garan) == [1])
        t.remove(1)
        #expect(!t.hasSubscribers(garan) && !t.hasSubscribers(thyao) && t.subscribers(of: akbnk) == [2])
        #expect(t.symbols(of: 1).isEmpty && t.clientCount == 1)
        #expect(t.subscribers(of: SymbolID(99)).isEmpty, "an id outside the table has no subscribers")
    }
}
