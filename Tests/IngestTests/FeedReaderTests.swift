import Atomics
import Foundation
import Ingest
import RingBuffer
import Synchronization
import TestSupport
import Testing

/// Keeps every tick it is given (read it after the lane has finished).
final class CollectingConsumer: TickConsumer, @unchecked Sendable {
    private(set) var ticks: [Tick] = []
    let count = ManagedAtomic<Int>(0)
    func consume(_ span: UnsafeBufferPointer<Tick>) {
        ticks += span
        count.store(ticks.count, ordering: .relaxed)
    }
    func idle(now: Int64) {}
    var idleIntervalNanos: Int64 { 100_000_000 }
    func finish() {}
}

/// Log lines collected from any thread.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Feed notices collected from any thread.
final class NoticeList: Sendable {
    private let notices = Mutex<[FeedNotice]>([])
    func append(_ n: FeedNotice) { notices.withLock { $0.append(n) } }
    var all: [FeedNotice] { notices.withLock { $0 } }
}

/// A reader, the pipeline and one collecting lane on real threads, over real sockets.
final class ReaderHarness: @unchecked Sendable {
    let reader: FeedReader
    let pipeline: Pipeline
    let lane: ConsumerLane
    let consumer = CollectingConsumer()
    let stop = ManagedAtomic<Bool>(false)
    private let lines = LogLines()
    private let noticeList = NoticeList()
    private var workers: [Worker<Void>] = []

    init(_ feeds: [FeedEndpoint], path: ReceivePath?, symbols: SymbolTable = testSymbols, ringCapacity: Int = 4096,
         lanePolicy: ConsumerLane.FullPolicy = .block) throws {
        let doorbell = Doorbell()
        let lines = self.lines
        let notices = self.noticeList
        reader = try FeedReader(feeds: feeds, symbols: symbols, options: FeedReaderOptions(receivePath: path, bufferSize: 16_384, bufferCount: 64),
                                ring: SPSCRing(minimumCapacity: ringCapacity), doorbell: doorbell, log: { lines.append($0) },
                                announce: { notices.append($0) })
        lane = ConsumerLane(name: "test", capacity: 4096, policy: lanePolicy)
        pipeline = Pipeline(readers: [reader], lanes: [lane]) { lines.append($0) }
        let (reader, pipeline, lane, consumer, stop) = (reader, pipeline, lane, consumer, stop)
        workers = [Worker { lane.run(consumer) }, Worker { pipeline.run() }, Worker { try reader.run(stop: stop) }]
    }

    func address(_ feed: Int = 0) -> FeedAddress { reader.boundAddresses[feed]! }
    var log: [String] { lines.all }
    /// What the reader told the fan-out.
    var notices: [FeedNotice] { noticeList.all }
    var counters: FeedCounters { reader.counters[0] }

    @discardableResult
    func waitFor(seconds: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            sleepBlocking(.microseconds(5_000))
        }
        return true
    }

    /// Stops the reader, lets the pipeline and the lane drain, and returns what reached the consumer.
    func finish() throws -> [Tick] {
        stop.store(true, ordering: .releasing)
        for w in workers.reversed() { try w.join() }
        return consumer.ticks
    }
}

/// Ticks numbered `from`, `from + 1`, ...
func numberedTicks(_ n: Int, from: UInt64 = 1, seed: UInt64 = 1, feed: UInt16 = 3) -> [Tick] {
    var r = TestRandom(state: seed)
    return (0..<n).map { i in
        var t = generatedTick(&r)
        t.sequence = from + UInt64(i)
        t.feed = feed
        return t
    }
}

func unstamped(_ ticks: [Tick]) -> [Tick] { ticks.map { var t = $0; t.receiveTime = 0; return t } }

func checksum(_ ticks: [Tick]) -> SequenceChecksum {
    var c = SequenceChecksum()
    for t in ticks { c.add(feed: t.feed, sequence: t.sequence) }
    return c
}

func listenFeed(_ transport: String = "tcp", format: FeedFormat = .binary, id: UInt16 = 3, name: String = "test") -> FeedEndpoint {
    FeedEndpoint(name: name, id: id, address: try! FeedAddress(parsing: "\(transport)://127.0.0.1:0"), format: format)
}

@Suite(.offThePool, .serialized, .timeLimit(.minutes(3))) struct FeedReaderTests {
    @Test(arguments: ReceivePath.allCases)
    func everyTickOfAReplayedRecordingReachesTheConsumerInOrder(path: ReceivePath) throws {
        let h = try ReaderHarness([listenFeed()], path: path)
        #expect(h.reader.receivePath == path)
        let ticks = numberedTicks(40_000)
        let file = temporaryPath("numbered.akrec")
        let writer = try RecordingWriter(path: file, header: RecordingHeader(payload: .binary, transport: .tcp, startTime: 0, source: "test"))
        for chunk in stride(from: 0, to: ticks.count, by: 100) {
            let bytes = encoded(BinaryFrameCodec.self, Array(ticks[chunk..<min(chunk + 100, ticks.count)]))
            try writer.append(receiveTime: Int64(chunk), payload: bytes)
        }
        try writer.close()
        _ = try Replayer.replay(try RecordingReader(path: file), to: try Socket.connect(to: h.address()), speed: .max)
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= ticks.count }
        let got = try h.finish()
        #expect(got.count == ticks.count)
        #expect(unstamped(got) == ticks, "every tick, in order, unchanged")
        #expect(checksum(got) == checksum(ticks))
        #expect(got.allSatisfy { $0.receiveTime > 0 })
        #expect(h.pipeline.sequenceCounters[0].gaps.load(ordering: .relaxed) == 0)
        #expect(h.log.contains { $0.contains("connection 1 from 127.0.0.1:") && $0.contains("opened") })
    }

    @Test(arguments: ReceivePath.allCases)
    func garbageOversizedAndHalfFramesAreCountedWhileGoodFramesFlow(path: ReceivePath) throws {
        let h = try ReaderHarness([listenFeed()], path: path)
        let good = numberedTicks(1000)
        let a = try Socket.connect(to: h.address())
        let b = try Socket.connect(to: h.address())
        var oversized = encoded(BinaryFrameCodec.self, [good[0]])
        oversized[4] = 0xFF; oversized[5] = 0xFF
        let streamA = encoded(BinaryFrameCodec.self, Array(good[0..<500])) + Array("GARBAGE!".utf8)
            + oversized + encoded(BinaryFrameCodec.self, Array(good[500..<1000]))
        try streamA.withUnsafeBytes { try a.send($0) }
        // Connection b: half a frame, then disconnect.
        try Array(encoded(BinaryFrameCodec.self, [good[0]]).prefix(33)).withUnsafeBytes { try b.send($0) }
        b.shutdownWrite()
        a.shutdownWrite()
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= 1000 && h.counters.rejected.load(ordering: .relaxed) >= 3 }
        let got = try h.finish()
        #expect(unstamped(got) == good, "every good frame arrives, in order, unchanged")
        #expect(h.counters[.badMagic] >= 1)
        #expect(h.counters[.oversized] == 1)
        #expect(h.counters[.truncated] == 1)
        #expect(h.counters.connections.load(ordering: .relaxed) == 2)
        #expect(h.log.contains { $0.contains("rejected frame: oversized frame") })
    }

    @Test(arguments: ReceivePath.allCases)
    func udpDatagramsOfJSONLines(path: ReceivePath) throws {
        let h = try ReaderHarness([listenFeed("udp", format: .jsonLines)], path: path)
        let good = numberedTicks(200)
        let socket = try Socket.connect(to: h.address())
        for tick in good {
            try encoded(JSONLineCodec.self, [tick]).withUnsafeBytes { try socket.send($0) }
        }
        try Array(#"{"type":"MARKET_TICK","data":{"symbol":"NOPE1"}}"#.utf8 + [10]).withUnsafeBytes { try socket.send($0) }
        // A datagram that ends inside a line: the rest never comes, so it is counted as truncated.
        try Array(encoded(JSONLineCodec.self, [good[0]]).prefix(20)).withUnsafeBytes { try socket.send($0) }
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= 200 && h.counters.rejected.load(ordering: .relaxed) >= 2 }
        let got = try h.finish()
        #expect(got.map(\.sequence) == good.map(\.sequence), "UDP on loopback, in order")
        #expect(h.counters.rejected.load(ordering: .relaxed) == 2)
        #expect(h.counters[.truncated] == 1)
        #expect(h.counters.kernelDrops.load(ordering: .relaxed) == 0)
    }

    @Test func multicastGroupIsJoinedOnTheConfiguredInterface() throws {
        var feed = listenFeed("udp")
        feed.address = try FeedAddress(parsing: "udp://239.77.1.2:0")
        feed.multicastInterface = "127.0.0.1"
        let h = try ReaderHarness([feed], path: nil)
        let group = FeedAddress(transport: .udp, host: "239.77.1.2", port: h.address().port)
        let sender = try Socket.connect(to: group, multicastInterface: "127.0.0.1")
        let good = numberedTicks(100)
        for tick in good { try encoded(BinaryFrameCodec.self, [tick]).withUnsafeBytes { try sender.send($0) } }
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= 100 }
        #expect(try h.finish().map(\.sequence) == good.map(\.sequence))
    }

    @Test func aBadMulticastInterfaceIsAClearError() throws {
        var feed = listenFeed("udp")
        feed.address = try FeedAddress(parsing: "udp://239.77.1.3:0")
        feed.multicastInterface = "eth0"
        #expect { try ReaderHarness([feed], path: nil) } throws: { "\($0)".contains("multicast interface \"eth0\" is not an IPv4 address") }
    }

    /// Two lines of the same feed (A/B arbitration): each sequence number reaches the consumer once.
    @Test func duplicateSequenceNumbersAreNeverDeliveredTwice() throws {
        let h = try ReaderHarness([listenFeed()], path: nil)
        let ticks = numberedTicks(5000)
        let bytes = encoded(BinaryFrameCodec.self, ticks)
        let a = try Socket.connect(to: h.address())
        let b = try Socket.connect(to: h.address())
        for start in stride(from: 0, to: bytes.count, by: 70 * 250) {
            let part = Array(bytes[start..<min(start + 70 * 250, bytes.count)])
            try part.withUnsafeBytes { try a.send($0) }
            try part.withUnsafeBytes { try b.send($0) }
        }
        h.waitFor { h.pipeline.received.load(ordering: .relaxed) >= 10_000 }
        let got = try h.finish()
        #expect(got.count == 5000)
        #expect(Set(got.map(\.sequence)).count == 5000)
        #expect(h.pipeline.sequenceCounters[0].duplicates.load(ordering: .relaxed) == 5000)
        #expect(h.log.contains { $0.contains("duplicate sequence") })
    }

    @Test func aFloodOnOneFeedDoesNotStarveAnother() throws {
        let h = try ReaderHarness([listenFeed(id: 1, name: "flood"), listenFeed(id: 2, name: "calm")], path: nil, ringCapacity: 1024)
        let flood = numberedTicks(300_000, feed: 1)
        let calm = numberedTicks(2_000, seed: 2, feed: 2)
        let floodBytes = encoded(BinaryFrameCodec.self, flood)
        let floodSender = Worker {
            let s = try Socket.connect(to: h.address(0))
            try floodBytes.withUnsafeBytes { try s.send($0) }
            s.shutdownWrite()
        }
        let calmSocket = try Socket.connect(to: h.address(1))
        let calmStart = Date()
        for chunk in stride(from: 0, to: calm.count, by: 100) {
            try encoded(BinaryFrameCodec.self, Array(calm[chunk..<(chunk + 100)])).withUnsafeBytes { try calmSocket.send($0) }
            sleepBlocking(.microseconds(2_000))
        }
        try floodSender.join()
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= flood.count + calm.count }
        let got = try h.finish()
        #expect(Date().timeIntervalSince(calmStart) < 30)
        #expect(got.filter { $0.feed == 1 }.map(\.sequence) == flood.map(\.sequence), "the flood arrives whole: backpressure, not loss")
        #expect(got.filter { $0.feed == 2 }.map(\.sequence) == calm.map(\.sequence), "the calm feed arrives whole")
        #expect(h.reader.counters[1].rejected.load(ordering: .relaxed) == 0)
    }

    /// A connect-mode feed: the first attempt is refused, the second connects, the server cuts the
    /// stream mid-frame, and the reader reconnects and reports the gap in sequence numbers.
    @Test(arguments: ReceivePath.allCases)
    func aDroppedTCPFeedIsReconnectedAndTheGapReported(path: ReceivePath) throws {
        let probe = try Socket.bind(FeedAddress(parsing: "tcp://127.0.0.1:0"))
        let port = probe.boundAddress.port
        _ = consume probe
        let address = FeedAddress(transport: .tcp, host: "127.0.0.1", port: port)
        let feed = FeedEndpoint(name: "remote", id: 3, address: address, role: .connect,
                                reconnectInitialNanos: 20_000_000, reconnectMaximumNanos: 100_000_000)
        let h = try ReaderHarness([feed], path: path)
        #expect(h.waitFor { h.counters.connectFailures.load(ordering: .relaxed) >= 1 }, "the closed port refuses the first attempt")
        let server = try Socket.bind(address)
        let first = numberedTicks(1000, from: 1)
        let second = numberedTicks(1000, from: 1101, seed: 9)
        guard let c1 = try server.accept(timeoutMillis: 10_000) else { Issue.record("no connection"); return }
        let cut = encoded(BinaryFrameCodec.self, first) + Array(encoded(BinaryFrameCodec.self, [second[0]]).prefix(40))
        try cut.withUnsafeBytes { try c1.send($0) }
        c1.shutdownWrite()
        guard let c2 = try server.accept(timeoutMillis: 10_000) else { Issue.record("no reconnection"); return }
        try encoded(BinaryFrameCodec.self, second).withUnsafeBytes { try c2.send($0) }
        h.waitFor { h.consumer.count.load(ordering: .relaxed) >= 2000 }
        let got = try h.finish()
        #expect(unstamped(got) == first + second, "nothing received before the drop is lost")
        #expect(h.counters.connections.load(ordering: .relaxed) == 2)
        #expect(h.counters.disconnects.load(ordering: .relaxed) >= 1)
        #expect(h.counters[.truncated] == 1, "the half frame at the cut")
        let sequence = h.pipeline.sequenceCounters[0]
        #expect(sequence.gaps.load(ordering: .relaxed) == 1)
        #expect(sequence.missing.load(ordering: .relaxed) == 100)
        let log = h.log
        #expect(log.contains { $0.contains("cannot connect to \(address)") && $0.contains("reconnecting in") })
        #expect(log.contains { $0.contains("closed by the peer after 1000 ticks") && $0.contains("reconnecting in") })
        #expect(log.filter { $0.contains("connected to \(address)") }.count == 2)
        #expect(log.contains { $0.contains("sequence gap: 100 missing before 1101") })
    }

    @Test func aListenAddressInUseIsAClearError() throws {
        let taken = try Socket.bind(FeedAddress(parsing: "tcp://127.0.0.1:0"))
        let feed = FeedEndpoint(name: "x", id: 1, address: taken.boundAddress)
        #expect { try ReaderHarness([feed], path: nil) } throws: { "\($0)".contains("Address already in use") }
    }
}

@Suite(.offThePool, .serialized, .timeLimit(.minutes(3))) struct PipelineTests {
    /// Two reader threads, each with its own ring, feeding one pipeline that shares their doorbell.
    @Test func twoReaderThreadsFeedOnePipeline() throws {
        let doorbell = Doorbell()
        let lines = LogLines()
        let readers = try [listenFeed(id: 1, name: "a"), listenFeed(id: 2, name: "b")].map { feed in
            try FeedReader(feeds: [feed], symbols: testSymbols, ring: SPSCRing(minimumCapacity: 1024), doorbell: doorbell) { lines.append($0) }
        }
        let lane = ConsumerLane(name: "store", capacity: 1024, policy: .block)
        let consumer = CollectingConsumer()
        let pipeline = Pipeline(readers: readers, lanes: [lane]) { lines.append($0) }
        let stop = ManagedAtomic<Bool>(false)
        let workers = [Worker { lane.run(consumer) }, Worker { pipeline.run() }] + readers.map { r in Worker { try r.run(stop: stop) } }
        let a = numberedTicks(20_000, feed: 1), b = numberedTicks(20_000, seed: 5, feed: 2)
        let senders = [(readers[0], a), (readers[1], b)].map { reader, ticks in
            let address = reader.boundAddresses[0]!
            let bytes = encoded(BinaryFrameCodec.self, ticks)
            return Worker {
                let s = try Socket.connect(to: address)
                try bytes.withUnsafeBytes { try s.send($0) }
            }
        }
        for s in senders { try s.join() }
        let deadline = Date().addingTimeInterval(20)
        while consumer.count.load(ordering: .relaxed) < 40_000 && Date() < deadline { sleepBlocking(.microseconds(5_000)) }
        stop.store(true, ordering: .releasing)
        for w in workers.reversed() { try w.join() }
        #expect(consumer.ticks.filter { $0.feed == 1 }.map(\.sequence) == a.map(\.sequence))
        #expect(consumer.ticks.filter { $0.feed == 2 }.map(\.sequence) == b.map(\.sequence))
        #expect(pipeline.accepted.load(ordering: .relaxed) == 40_000)
        #expect(lane.delivered.load(ordering: .relaxed) == 40_000)
    }

    /// A full lane under `drop` keeps what fits and counts the rest; nothing else is lost.
    @Test func aDroppingLaneCountsWhatItDrops() {
        let lane = ConsumerLane(name: "fanout", capacity: 1024, policy: .drop)
        let ticks = numberedTicks(3000)
        let lost = ticks.withUnsafeBufferPointer { lane.offer($0) }
        #expect(lost == 3000 - lane.ring.capacity)
        #expect(lane.delivered.load(ordering: .relaxed) == UInt64(lane.ring.capacity))
        #expect(lane.dropped.load(ordering: .relaxed) == UInt64(lost))
        var kept: [Tick] = []
        _ = lane.ring.drain { kept += $0 }
        #expect(kept == Array(ticks.prefix(lane.ring.capacity)), "the ticks that fit, in order")
        #expect(lane.fullWaits.load(ordering: .relaxed) == 0)
    }
}
