import Atomics
import Foundation
import Ingest
import RingBuffer
import Testing

/// Runs `body` on a new thread; `join()` waits for it and rethrows its error.
final class Worker<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?
    init(_ body: @escaping @Sendable () throws -> T) {
        Thread { [self] in
            result = Result { try body() }
            done.signal()
        }.start()
    }
    func join(timeoutSeconds: Double = 60) throws -> T {
        guard done.wait(timeout: .now() + timeoutSeconds) == .success else { throw SocketError.timedOut }
        return try result!.get()
    }
}

extension SocketError { static var timedOut: some Error { CancellationError() } }

@Suite(.serialized) struct RecordReplayTests {
    func synthRecording(rate: Double, duration: Double) throws -> (String, [[UInt8]]) {
        let path = temporaryPath("feed.akrec")
        let feed = try SyntheticFeed(.init(symbolCount: 10, rate: rate, duration: duration, seed: 5))
        _ = try SynthesisWriter.write(feed, format: .binary, to: path)
        var payloads: [[UInt8]] = []
        try RecordingReader(path: path).forEachRecord { _, p in payloads.append(Array(p)) }
        return (path, payloads)
    }

    /// A recorder on a free loopback port, running on its own thread until `stop` is set.
    func startRecorder(_ transport: String, out: String, onConnection: @escaping @Sendable (Bool) -> Void = { _ in })
        throws -> (address: FeedAddress, stop: ManagedAtomic<Bool>, worker: Worker<Recorder.Report>)
    {
        let recorder = try Recorder(listen: FeedAddress(parsing: "\(transport)://127.0.0.1:0"), path: out, format: .binary)
        let stop = ManagedAtomic<Bool>(false)
        let worker = Worker { try recorder.run(shouldStop: { stop.load(ordering: .relaxed) }, onConnection: onConnection) }
        return (recorder.socket.boundAddress, stop, worker)
    }

    @Test func tcpReplayIntoRecorderCapturesEveryByteInOrder() throws {
        let (source, payloads) = try synthRecording(rate: 20_000, duration: 5)
        let out = temporaryPath("captured.akrec")
        let sawDisconnect = ManagedAtomic<Bool>(false)
        let (address, stop, recording) = try startRecorder("tcp", out: out) { if !$0 { sawDisconnect.store(true, ordering: .relaxed) } }
        let report = try Replayer.replay(try RecordingReader(path: source), to: try Socket.connect(to: address), speed: .max)
        #expect(report.records == UInt64(payloads.count))
        let deadline = Date().addingTimeInterval(20)
        while !sawDisconnect.load(ordering: .relaxed) && Date() < deadline { usleep(10_000) }
        stop.store(true, ordering: .relaxed)
        let recorded = try recording.join()
        #expect(recorded.connections == 1)
        var captured: [UInt8] = []
        let reader = try RecordingReader(path: out)
        #expect(reader.header.transport == .tcp)
        try reader.forEachRecord { _, p in captured += p }
        #expect(captured == Array(payloads.joined()), "the TCP byte stream arrives whole and in order")
    }

    @Test func udpReplayKeepsDatagramBoundaries() throws {
        let (source, payloads) = try synthRecording(rate: 500, duration: 2)
        let out = temporaryPath("captured-udp.akrec")
        let (address, stop, recording) = try startRecorder("udp", out: out)
        // Paced (4x real time, ~2,000 datagrams/s), so the loopback receive buffer never overflows.
        let report = try Replayer.replay(try RecordingReader(path: source), to: try Socket.connect(to: address), speed: .factor(4))
        #expect(report.records == UInt64(payloads.count))
        #expect(report.elapsedNanos > 300_000_000, "pacing was applied")
        usleep(300_000)
        stop.store(true, ordering: .relaxed)
        _ = try recording.join()
        var captured: [[UInt8]] = []
        try RecordingReader(path: out).forEachRecord { _, p in captured.append(Array(p)) }
        #expect(captured == payloads)
    }

    @Test func pacingFollowsTheRecordedTimesScaled() throws {
        // 1 s of session at 200 ticks/s, replayed at speed 2, takes about 0.5 s.
        let (source, _) = try synthRecording(rate: 200, duration: 1)
        let sink = try Socket.bind(FeedAddress(parsing: "udp://127.0.0.1:0"))
        let report = try Replayer.replay(try RecordingReader(path: source), to: try Socket.connect(to: sink.boundAddress), speed: .factor(2))
        #expect(report.elapsedNanos > 400_000_000 && report.elapsedNanos < 900_000_000, "\(report.elapsedNanos) ns")
    }

    @Test func replayToAClosedPortFailsClearly() throws {
        let probe = try Socket.bind(FeedAddress(parsing: "tcp://127.0.0.1:0"))
        let address = probe.boundAddress
        _ = consume probe
        #expect { try Socket.connect(to: address) } throws: { "\($0)".contains("Connection refused") }
    }

    @Test func feedAddressParsing() throws {
        #expect(try FeedAddress(parsing: "tcp://127.0.0.1:9000") == FeedAddress(transport: .tcp, host: "127.0.0.1", port: 9000))
        #expect(try FeedAddress(parsing: "udp://[::1]:5000") == FeedAddress(transport: .udp, host: "::1", port: 5000))
        #expect(try FeedAddress(parsing: "udp://[::1]:5000").description == "udp://[::1]:5000")
        for bad in ["127.0.0.1:9000", "http://x:1", "tcp://:1", "tcp://host", "tcp://host:99999", "tcp://[::1]5000"] {
            #expect(throws: FeedAddress.ParseError.self, "\(bad)") { try FeedAddress(parsing: bad) }
        }
    }
}

@Suite(.serialized) struct PollingFeedServerTests {
    /// Starts a server and a drain loop; returns a function that stops both and returns the ticks.
    func startServer<C: FeedCodec>(_ codec: C.Type, transport: String = "tcp")
        throws -> (FeedAddress, FeedCounters, () throws -> [Tick])
    {
        let ring = SPSCRing<Tick>(minimumCapacity: 1024)
        let server = try PollingFeedServer<C>(listen: FeedAddress(parsing: "\(transport)://127.0.0.1:0"),
                                              context: testContext, ring: ring, onEvent: { _ in })
        let stop = ManagedAtomic<Bool>(false)
        let reader = Worker { try server.run(stop: stop) }
        let drained = Worker { () -> [Tick] in
            var ticks: [Tick] = []
            while !stop.load(ordering: .acquiring) || !ring.isEmpty {
                if ring.drain({ ticks += $0 }) == 0 { usleep(100) }
            }
            return ticks
        }
        return (server.listener.boundAddress, server.counters, {
            stop.store(true, ordering: .releasing)
            try reader.join()
            return try drained.join()
        })
    }

    func waitFor(_ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { usleep(5_000) }
    }

    @Test func garbageOversizedAndHalfFramesAreCountedWhileGoodFramesFlow() throws {
        let (address, counters, stop) = try startServer(BinaryFrameCodec.self)
        var r = TestRandom(state: 11)
        let good = (0..<1000).map { _ in generatedTick(&r) }
        let a = try Socket.connect(to: address)
        let b = try Socket.connect(to: address)
        var oversized = encoded(BinaryFrameCodec.self, [good[0]])
        oversized[4] = 0xFF; oversized[5] = 0xFF
        // Connection a: good frames with garbage and an oversized frame mixed in.
        let streamA = encoded(BinaryFrameCodec.self, Array(good[0..<500])) + Array("GARBAGE!".utf8)
            + oversized + encoded(BinaryFrameCodec.self, Array(good[500..<1000]))
        try streamA.withUnsafeBytes { try a.send($0) }
        // Connection b: half a frame, then disconnect.
        try Array(encoded(BinaryFrameCodec.self, [good[0]]).prefix(33)).withUnsafeBytes { try b.send($0) }
        b.shutdownWrite()
        a.shutdownWrite()
        waitFor { counters.ticks.load(ordering: .relaxed) >= 1000 && counters.rejected.load(ordering: .relaxed) >= 3 }
        let ticks = try stop()
        #expect(ticks.count == 1000)
        let unstamped = ticks.map { t -> Tick in var t = t; t.receiveTime = 0; return t }
        #expect(unstamped == good, "every good frame arrives, in order, unchanged")
        let kinds = Dictionary(uniqueKeysWithValues: counters.rejectedByKind())
        #expect(kinds[.badMagic, default: 0] >= 1)
        #expect(kinds[.oversized] == 1)
        #expect(kinds[.truncated] == 1)
        #expect(counters.connections.load(ordering: .relaxed) == 2)
    }

    @Test func udpDatagramsOfJSONLines() throws {
        let (address, counters, stop) = try startServer(JSONLineCodec.self, transport: "udp")
        var r = TestRandom(state: 12)
        let good = (0..<50).map { _ in generatedTick(&r) }
        let socket = try Socket.connect(to: address)
        for tick in good {
            try encoded(JSONLineCodec.self, [tick]).withUnsafeBytes { try socket.send($0) }
        }
        try Array(#"{"type":"MARKET_TICK","data":{"symbol":"NOPE1"}}"#.utf8 + [10]).withUnsafeBytes { try socket.send($0) }
        waitFor { counters.ticks.load(ordering: .relaxed) >= 50 && counters.rejected.load(ordering: .relaxed) >= 1 }
        let ticks = try stop()
        #expect(ticks.map(\.sequence) == good.map(\.sequence), "UDP on loopback, in order")
        #expect(counters.rejected.load(ordering: .relaxed) == 1)
    }
}

@Suite struct IOUringSupportTests {
    @Test func probeReallyUsesTheKernel() {
        let support = IOUringSupport.probe()
        // These machines run kernel 6.x with io_uring enabled (DESIGN.md). If this fails, the kernel
        // or a seccomp policy refuses io_uring and the reader will fall back: worth knowing loudly.
        #expect(support.setupErrno == 0)
        #expect(support.features != 0)
        if support.bufferRingErrno == 0 && support.multishotErrno == 0 {
            #expect(support.bestReceivePath == .multishotProvidedBuffers)
        } else {
            #expect(support.bestReceivePath == .singleShotRecv)
        }
    }
}
