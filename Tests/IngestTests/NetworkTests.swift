import Atomics
import Foundation
import Ingest
import RingBuffer
import TestSupport
import Testing

/// Runs `body` on a new thread; `join()` waits for it and rethrows its error.
final class Worker<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)  // blocking-checked
    private var result: Result<T, Error>?
    init(_ body: @escaping @Sendable () throws -> T) {
        Thread { [self] in
            result = Result { try body() }
            done.signal()
        }.start()
    }
    func join(timeoutSeconds: Double = 60) throws -> T {
        try CooperativePool.refuseBlocking("joining a worker thread")
        guard done.wait(timeout: .now() + timeoutSeconds) == .success else { throw SocketError.timedOut }  // blocking-checked
        return try result!.get()
    }
}

extension SocketError { static var timedOut: some Error { CancellationError() } }

@Suite(.offThePool, .serialized, .timeLimit(.minutes(3))) struct RecordReplayTests {
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
        while !sawDisconnect.load(ordering: .relaxed) && Date() < deadline { sleepBlocking(.microseconds(10_000)) }
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
        sleepBlocking(.microseconds(300_000))
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

@Suite struct IOUringSupportTests {
    @Test func probeReallyUsesTheKernel() {
        let support = IOUringSupport.probe()
        // These machines run kernel 6.x with io_uring enabled (DESIGN.md). If this fails, the kernel
        // or a seccomp policy refuses io_uring and the reader will fall back: worth knowing loudly.
        #expect(support.setupErrno == 0)
        #expect(support.features != 0)
        if support.bufferRingErrno == 0 && support.multishotErrno == 0 {
            #expect(support.bestReceivePath == .multishot)
        } else {
            #expect(support.bestReceivePath == .recv)
        }
    }
}
