import Atomics
import Glibc
import RingBuffer

/// Sequence-integrity counters of one feed, published by the pipeline thread.
public final class SequenceCounters: Sendable {
    public let gaps = ManagedAtomic<UInt64>(0)
    public let missing = ManagedAtomic<UInt64>(0)
    public let filled = ManagedAtomic<UInt64>(0)
    public let duplicates = ManagedAtomic<UInt64>(0)
    public let forgottenGaps = ManagedAtomic<UInt64>(0)

    func publish(_ s: SequenceTracker.Stats) {
        gaps.store(s.gaps, ordering: .relaxed)
        missing.store(s.missing, ordering: .relaxed)
        filled.store(s.filled, ordering: .relaxed)
        duplicates.store(s.duplicates, ordering: .relaxed)
        forgottenGaps.store(s.forgottenGaps, ordering: .relaxed)
    }
}

/// The pipeline thread: the one owner of per-feed and per-symbol state. It drains every reader's
/// ring in batches, drops duplicate sequence numbers (counted and logged), and hands each batch
/// to every consumer lane under that lane's full-ring policy.
///
/// No locks, allocations or system calls for an ordinary tick; logging happens only for
/// anomalies, rate-limited.
public final class Pipeline: @unchecked Sendable {
    public let feeds: [FeedEndpoint]
    /// Per feed, in the order of `feeds`.
    public let sequenceCounters: [SequenceCounters]
    public let lanes: [ConsumerLane]
    public let stages: [PipelineStage]
    /// Ticks taken from the readers' rings, and ticks passed on to the lanes (not duplicates).
    public let received = ManagedAtomic<UInt64>(0)
    public let accepted = ManagedAtomic<UInt64>(0)
    /// Advances on every turn of the pipeline's loop (at least every 100 ms while it is healthy).
    public let heartbeat = ManagedAtomic<UInt64>(0)

    private let readers: [any TickSource]
    /// Every reader rings this one after each hand-off.
    private let doorbell: Doorbell
    private var trackers: [SequenceTracker]
    private var feedIndex: [Int]
    private var staging: UnsafeMutableBufferPointer<Tick>
    private let log: (String) -> Void
    private var gapLog: [LogRateLimiter]
    private var duplicateLog: [LogRateLimiter]
    private var dropLog: [LogRateLimiter]
    private var localReceived: UInt64 = 0
    private var localAccepted: UInt64 = 0
    private static let drainBatch = 4096

    /// - Parameter checkpoints: the highest stored sequence per feed id, when known.
    public init(readers: [any TickSource], lanes: [ConsumerLane], stages: [PipelineStage] = [], checkpoints: [UInt16: UInt64] = [:],
                log: @escaping (String) -> Void) {
        self.readers = readers
        self.lanes = lanes
        self.stages = stages
        let shared = readers.first?.doorbell ?? Doorbell()
        precondition(readers.allSatisfy { $0.doorbell === shared }, "all readers of a pipeline share its doorbell")
        doorbell = shared
        self.log = log
        feeds = readers.flatMap(\.feeds)
        sequenceCounters = feeds.map { _ in SequenceCounters() }
        trackers = feeds.map { SequenceTracker(resumingAfter: checkpoints[$0.id]) }
        feedIndex = [Int](repeating: 0, count: Int(UInt16.max) + 1)
        for (i, feed) in feeds.enumerated() { feedIndex[Int(feed.id)] = i }
        staging = .allocate(capacity: Self.drainBatch)
        gapLog = feeds.map { _ in LogRateLimiter() }
        duplicateLog = gapLog
        dropLog = lanes.map { _ in LogRateLimiter() }
    }

    deinit { staging.deallocate() }

    /// Runs until every reader has finished and its ring is empty; then closes the lanes.
    public func run() {
        var open = Array(readers.indices)
        while !open.isEmpty {
            heartbeat.wrappingIncrement(ordering: .relaxed)
            var moved = 0
            open.removeAll { r in
                let done = readers[r].finished.load(ordering: .acquiring)
                let n = readers[r].ring.drain(maximum: Self.drainBatch) { process($0) }
                moved += n
                return done && n == 0
            }
            if moved > 0 {
                received.store(localReceived, ordering: .relaxed)
                accepted.store(localAccepted, ordering: .relaxed)
                continue
            }
            let now = Clock.monotonicNanos()
            for stage in stages { stage.idle(now: now) }
            doorbell.sleep(timeoutNanos: 100_000_000) {
                open.allSatisfy { readers[$0].ring.isEmpty && !readers[$0].finished.load(ordering: .acquiring) }
            }
        }
        received.store(localReceived, ordering: .relaxed)
        accepted.store(localAccepted, ordering: .relaxed)
        for (i, tracker) in trackers.enumerated() { sequenceCounters[i].publish(tracker.stats) }
        for stage in stages { stage.finish() }
        for lane in lanes { lane.close() }
    }

    private func process(_ span: UnsafeBufferPointer<Tick>) {
        var kept = 0
        var anomalies = false
        for tick in span {
            let f = feedIndex[Int(tick.feed)]
            switch trackers[f].observe(tick.sequence) {
            case .next, .unnumbered:
                break
            case .gap(let missing):
                anomalies = true
                report(&gapLog[f], "feed \(feeds[f].name): sequence gap: \(missing) missing before \(tick.sequence)")
            case .filledGap:
                anomalies = true
                report(&gapLog[f], "feed \(feeds[f].name): sequence \(tick.sequence) arrived out of order (fills a gap)")
            case .duplicate:
                anomalies = true
                report(&duplicateLog[f], "feed \(feeds[f].name): duplicate sequence \(tick.sequence) dropped (highest \(trackers[f].highest))")
                continue
            }
            staging[kept] = tick
            kept += 1
        }
        localReceived += UInt64(span.count)
        localAccepted += UInt64(kept)
        if anomalies {
            for (i, tracker) in trackers.enumerated() { sequenceCounters[i].publish(tracker.stats) }
        }
        let batch = UnsafeBufferPointer(rebasing: staging[0..<kept])
        for (i, lane) in lanes.enumerated() {
            let lost = lane.offer(batch)
            if lost > 0 {
                report(&dropLog[i], "lane \(lane.name) full: dropped \(lost) ticks (\(lane.dropped.load(ordering: .relaxed)) so far)")
            }
        }
        if !stages.isEmpty {
            let now = Clock.monotonicNanos()
            for stage in stages { stage.process(batch, now: now) }
        }
    }

    private func report(_ limiter: inout LogRateLimiter, _ message: @autoclosure () -> String) {
        if let line = limiter.line(message(), now: Clock.monotonicNanos()) { log(line) }
    }
}
