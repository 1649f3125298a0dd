import Atomics
import Foundation
import Glibc
import Ingest
import Synchronization
import Testing
import TestSupport

/// A `bist-itch` feed on the real reader: MoldUDP64 packets over multicast on loopback, gaps
/// recovered from a test rewinder, losses announced; the ticks checked against the books' model.
@Suite(.offThePool, .serialized, .timeLimit(.minutes(2))) struct BISTITCHFeedTests {
    static let symbols = try! SymbolTable(BISTMarket.bist30.prefix(8))

    /// The ticks the books make of the whole session, computed without the reader.
    static func expectedTicks(_ session: SyntheticITCHSession, feed: UInt16, symbols: SymbolTable = symbols) -> [Tick] {
        var books = BISTOrderBooks(symbols: symbols, feed: feed)
        books.startSession(now: 0)
        var ticks: [Tick] = []
        for m in session.messages { m.withUnsafeBytes { books.apply(try! BISTITCH.decode($0).get(), receiveTime: 0) { ticks.append($0) } } }
        return numbered(ticks)
    }

    /// The reader numbers a feed's ticks 1, 2, … (after a stored checkpoint).
    static func numbered(_ ticks: [Tick], after checkpoint: UInt64 = 0) -> [Tick] {
        ticks.enumerated().map { var t = $1; t.sequence = checkpoint + UInt64($0) + 1; return t }
    }

    static func feed(group: String, rewinder: FeedAddress?, timeout: Int64 = 200_000_000) throws -> FeedEndpoint {
        var feed = FeedEndpoint(name: "bist", id: 5, address: try FeedAddress(parsing: "udp://\(group):0"), format: .bistITCH)
        feed.multicastInterface = "127.0.0.1"
        feed.exchange.rewinder = rewinder
        feed.exchange.recovery.timeoutNanos = timeout
        return feed
    }

    /// Sends the packets to the group, a little paced so that loopback does not drop them.
    static func send(_ packets: [SyntheticITCHSession.Packet], to group: FeedAddress) throws {
        let sender = try Socket.connect(to: group, multicastInterface: "127.0.0.1")
        for (i, p) in packets.enumerated() {
            try p.bytes.withUnsafeBytes { try sender.send($0) }
            if i % 64 == 63 { sleepBlocking(.microseconds(1_000)) }
        }
    }

    @Test func droppedPacketsAreRecoveredAndTheTicksMatchTheModel() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 30_000, seed: 11, heartbeatEvery: 50))
        let rewinder = try testRewinder(session)
        let h = try ReaderHarness([try Self.feed(group: "239.77.2.1", rewinder: rewinder.address)], path: nil, symbols: Self.symbols)
        let group = FeedAddress(transport: .udp, host: "239.77.2.1", port: h.address().port)
        var dropped = 0
        let sent = session.packets.enumerated().filter { i, p in
            let drop = i % 25 == 7 && p.messageCount > 0
            if drop { dropped += p.messageCount }
            return !drop
        }.map(\.element)
        try Self.send(sent, to: group)
        let expected = Self.expectedTicks(session, feed: 5)
        let x = h.reader.exchangeCounters[0]!
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= expected.count && x.messages.load(ordering: .relaxed) == UInt64(session.messages.count) }
        let got = try h.finish()
        rewinder.close()
        #expect(unstamped(got) == expected, "every trade and quote, in order, as the model makes them: \(got.count) ticks, \(expected.count) expected")
        // At least the packets left out (loopback may drop more under load; those are recovered too).
        #expect(x.recoveredMessages.load(ordering: .relaxed) >= UInt64(dropped) && x.lostMessages.load(ordering: .relaxed) == 0)
        #expect(x.recoveryRequests.load(ordering: .relaxed) == UInt64(rewinder.requests.load(ordering: .relaxed)))
        #expect(x.requestsLeft.load(ordering: .relaxed) == UInt64(9_999 - rewinder.requests.load(ordering: .relaxed)))
        #expect(h.notices.isEmpty && x.staleInstruments.load(ordering: .relaxed) == 0)
        #expect(h.log.contains { $0.contains("session AKIS000001 ended after \(session.messages.count) messages") })
    }

    @Test func aSilentRewinderLeavesTheBooksStaleAndTheClientsAreTold() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 5_000, seed: 12))
        let rewinder = try testRewinder(session, silent: true)
        var feed = try Self.feed(group: "239.77.2.2", rewinder: rewinder.address, timeout: 50_000_000)
        feed.exchange.recovery.attempts = 2
        let h = try ReaderHarness([feed], path: nil, symbols: Self.symbols)
        let group = FeedAddress(transport: .udp, host: "239.77.2.2", port: h.address().port)
        let lost = session.packets[40]
        try Self.send(session.packets.enumerated().filter { $0.offset != 40 }.map(\.element), to: group)
        let x = h.reader.exchangeCounters[0]!
        h.waitFor { x.lostMessages.load(ordering: .relaxed) > 0 && x.messages.load(ordering: .relaxed) == UInt64(session.messages.count - lost.messageCount) }
        let got = try h.finish()
        rewinder.close()
        #expect(rewinder.requests.load(ordering: .relaxed) == 2, "asked twice, then given up")
        #expect(x.lostMessages.load(ordering: .relaxed) == UInt64(lost.messageCount))
        #expect(x.staleInstruments.load(ordering: .relaxed) == 8)
        let stale = try #require(h.notices.first)
        #expect(stale.status == .stale && stale.feed == "bist" && Set(stale.symbols) == Set(Self.symbols.allNames))
        #expect(stale.reason?.contains("the rewinder did not answer") == true)
        #expect(h.log.contains { $0.contains("messages from \(lost.sequence) lost (the rewinder did not answer)") })
        // Up to the loss, the model's ticks; after it, trades only (the books' tops may be wrong).
        var books = BISTOrderBooks(symbols: Self.symbols, feed: 5)
        books.startSession(now: 0)
        var before: [Tick] = []
        for m in session.messages[..<Int(lost.sequence - 1)] { m.withUnsafeBytes { books.apply(try! BISTITCH.decode($0).get(), receiveTime: 0) { before.append($0) } } }
        #expect(Array(unstamped(got).prefix(before.count)) == Self.numbered(before))
        #expect(got.count > before.count && got.dropFirst(before.count).allSatisfy { $0.kind == .trade })
    }

    @Test func truncatedAndMalformedPacketsAreCountedAndSkipped() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 2_000, seed: 13))
        let h = try ReaderHarness([try Self.feed(group: "239.77.2.3", rewinder: nil)], path: nil, symbols: Self.symbols)
        let group = FeedAddress(transport: .udp, host: "239.77.2.3", port: h.address().port)
        let sender = try Socket.connect(to: group, multicastInterface: "127.0.0.1")
        try [UInt8](repeating: 7, count: 11).withUnsafeBytes { try sender.send($0) }  // shorter than a header
        var badType = MoldUDP64Packet.packet(session: session.session, sequence: 9_999_999, messages: [[0x71, 1, 2]])
        badType[0] = UInt8(ascii: "Z")  // another session, carrying an unknown message type
        try badType.withUnsafeBytes { try sender.send($0) }
        try Self.send(session.packets, to: group)
        let x = h.reader.exchangeCounters[0]!
        h.waitFor { x.messages.load(ordering: .relaxed) >= UInt64(session.messages.count) + 1 }
        let got = try h.finish()
        #expect(h.counters[.truncated] == 1 && h.counters[.badMessageType] == 1)
        let expected = Self.expectedTicks(session, feed: 5)
        #expect(unstamped(got) == expected, "the session after them is whole: \(got.count) ticks, \(expected.count) expected")
        #expect(x.sessions.load(ordering: .relaxed) == 2)
    }

    @Test func instrumentsOutsideTheUniverseAreLoggedOnceAndMakeNoTicks() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 3_000, seed: 14))
        let six = try SymbolTable(BISTMarket.bist30.prefix(6))
        let h = try ReaderHarness([try Self.feed(group: "239.77.2.4", rewinder: nil)], path: nil, symbols: six)
        try Self.send(session.packets, to: FeedAddress(transport: .udp, host: "239.77.2.4", port: h.address().port))
        let x = h.reader.exchangeCounters[0]!
        h.waitFor { x.messages.load(ordering: .relaxed) >= UInt64(session.messages.count) && h.log.contains { $0.contains("not in [market]") } }
        let got = try h.finish()
        let expected = Self.expectedTicks(session, feed: 5, symbols: six)
        #expect(unstamped(got) == expected, "\(got.count) ticks, \(expected.count) expected")
        let lines = h.log.filter { $0.contains("not in [market] symbols") }
        #expect(lines.count == 1 && lines[0].contains(#"2 instruments not in [market] symbols (books kept, no ticks): "ENKAI", "EREGL"; 2 this session"#), "\(lines)")
    }

    @Test func aSilentFeedIsStaleThenWholeAgainWhenPacketsComeWithNothingMissing() throws {
        let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 4_000, seed: 15))
        var feed = try Self.feed(group: "239.77.2.5", rewinder: nil)
        feed.exchange.staleAfterNanos = 200_000_000
        let h = try ReaderHarness([feed], path: nil, symbols: Self.symbols)
        let group = FeedAddress(transport: .udp, host: "239.77.2.5", port: h.address().port)
        let half = session.packets.count / 2
        try Self.send(Array(session.packets[..<half]), to: group)
        h.waitFor { h.notices.contains { $0.status == .stale } }
        let x = h.reader.exchangeCounters[0]!
        #expect(x.staleInstruments.load(ordering: .relaxed) == 8)
        try Self.send(Array(session.packets[half...]), to: group)
        h.waitFor { x.messages.load(ordering: .relaxed) >= UInt64(session.messages.count) && h.notices.contains { $0.status == .fresh } }
        let got = try h.finish()
        // Stale then fresh (again, should a busy machine have paused the sender longer than 200 ms).
        let statuses = h.notices.map(\.status)
        #expect(statuses.count >= 2 && statuses.count % 2 == 0 && statuses.enumerated().allSatisfy { $1 == ($0 % 2 == 0 ? .stale : .fresh) }, "\(h.notices)")
        #expect(h.notices.first?.reason?.contains("no packet, not even a heartbeat") == true)
        #expect(x.staleInstruments.load(ordering: .relaxed) == 0 && x.lostMessages.load(ordering: .relaxed) == 0)
        #expect(unstamped(got) == Self.expectedTicks(session, feed: 5), "nothing came during the silence: every tick as the model makes them")
        #expect(h.log.contains { $0.contains("packets again with nothing missing") })
    }
}
