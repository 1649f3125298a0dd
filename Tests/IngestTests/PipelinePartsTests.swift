import Atomics
import Foundation
import Ingest
import TestSupport
import Testing

@Suite struct SequenceTrackerTests {
    @Test func inOrderGapLateFillAndDuplicate() {
        var t = SequenceTracker()
        #expect(t.observe(500) == .next, "the first number is the baseline")
        #expect(t.observe(501) == .next)
        #expect(t.observe(505) == .gap(missing: 3))
        #expect(t.outstanding == 3)
        #expect(t.observe(503) == .filledGap)
        #expect(t.observe(503) == .duplicate, "a gap is filled only once")
        #expect(t.observe(501) == .duplicate)
        #expect(t.observe(505) == .duplicate)
        #expect(t.observe(502) == .filledGap)
        #expect(t.observe(504) == .filledGap)
        #expect(t.outstanding == 0)
        #expect(t.observe(499) == .duplicate, "below the baseline counts as seen")
        #expect(t.observe(0) == .unnumbered)
        #expect(t.observe(0) == .unnumbered, "unnumbered ticks are never duplicates")
        #expect(t.observe(506) == .next)
        #expect(t.stats == {
            var s = SequenceTracker.Stats()
            s.gaps = 1; s.missing = 3; s.filled = 3; s.duplicates = 4
            return s
        }())
        #expect(t.highest == 506)
    }

    @Test func resumingFromACheckpointReportsTheGapSinceThen() {
        var t = SequenceTracker(resumingAfter: 100)
        #expect(t.observe(100) == .duplicate, "already stored before the restart")
        #expect(t.observe(104) == .gap(missing: 3))
    }

    @Test func tooManyOpenGapsForgetTheOldest() {
        var t = SequenceTracker(maximumTrackedGaps: 2)
        _ = t.observe(1)
        _ = t.observe(3)  // gap {2}
        _ = t.observe(5)  // gap {4}
        _ = t.observe(7)  // gap {6}: {2} is forgotten
        #expect(t.stats.forgottenGaps == 1)
        #expect(t.observe(2) == .duplicate)
        #expect(t.observe(4) == .filledGap)
        #expect(t.observe(6) == .filledGap)
    }

    /// Against a model: a set of seen numbers. With no forgotten gaps the tracker must agree exactly.
    @Test func agreesWithASetModelOnRandomStreams() {
        var r = TestRandom(state: 77)
        for _ in 0..<50 {
            var tracker = SequenceTracker()
            var seen = Set<UInt64>()
            var highest: UInt64 = 0
            let start = UInt64(1 + r.below(1000))
            for _ in 0..<2000 {
                let s = highest == 0 ? start : UInt64(max(1, Int(highest) + r.below(12) - 8))
                let verdict = tracker.observe(s)
                let new = s >= start && !seen.contains(s)
                #expect((verdict == .duplicate) == !new, "sequence \(s)")
                if new { seen.insert(s); highest = max(highest, s) }
            }
        }
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func doublesUpToTheMaximumWithEqualJitter() {
        var b = ReconnectBackoff(initialNanos: 100_000_000, maximumNanos: 1_000_000_000)
        #expect(b.nextDelay(unit: 0) == 50_000_000)
        #expect(b.nextDelay(unit: 0.999_999) > 199_000_000)
        #expect(b.nextDelay(unit: 0.5) == 300_000_000)
        #expect(b.nextDelay(unit: 0) == 400_000_000)
        #expect(b.nextDelay(unit: 1) == 1_000_000_000, "capped")
        for _ in 0..<100 { #expect(b.nextDelay(unit: 1) == 1_000_000_000, "no overflow after many failures") }
        b.reset()
        #expect(b.nextDelay(unit: 1) == 100_000_000)
    }
}

@Suite struct LogRateLimiterTests {
    @Test func limitsPerWindowAndReportsWhatItHeldBack() {
        var l = LogRateLimiter(limit: 2, windowNanos: 1_000)
        #expect(l.line("a", now: 0) == "a")
        #expect(l.line("b", now: 10) == "b")
        #expect(l.line("c", now: 20) == nil)
        #expect(l.line("d", now: 999) == nil)
        #expect(l.line("e", now: 1_000) == "e (2 similar lines suppressed)")
        #expect(l.line("f", now: 1_001) == "f")
    }
}

@Suite struct SequenceChecksumTests {
    @Test func orderIndependentButSensitiveToContent() {
        var a = SequenceChecksum(), b = SequenceChecksum(), c = SequenceChecksum()
        for s in 1...1000 as ClosedRange<UInt64> { a.add(feed: 1, sequence: s) }
        for s in (1...1000 as ClosedRange<UInt64>).reversed() { b.add(feed: 1, sequence: s) }
        for s in 1...1000 as ClosedRange<UInt64> { c.add(feed: 1, sequence: s == 500 ? 1001 : s) }
        #expect(a == b)
        #expect(a != c)
        var d = SequenceChecksum()
        for s in 1...1000 as ClosedRange<UInt64> { d.add(feed: 2, sequence: s) }
        #expect(a.sum == d.sum && a != d, "the feed is part of the fingerprint")
    }
}

/// The futex doorbell between a ring's producer and its sleeping consumer: no lost wake-up, and a
/// dozing consumer is woken early only by an urgent ring.
@Suite(.offThePool, .timeLimit(.minutes(1))) struct DoorbellTests {
    /// A consumer that sleeps (with a 10 s timeout) whenever it has taken everything, against a
    /// producer that publishes one item at a time, rings, and waits until it is taken: the
    /// consumer falls asleep between items, and every ring wakes it (a lost one would leave the
    /// item waiting the whole timeout).
    @Test func aSleepingConsumerMissesNoRing() throws {
        let bell = Doorbell()
        let published = ManagedAtomic<Int>(0)
        let taken = ManagedAtomic<Int>(0)
        let items = 5_000
        let start = Clock.monotonicNanos()
        let consumer = Thread {
            var seen = 0
            while seen < items {
                let now = published.load(ordering: .acquiring)
                if now > seen {
                    seen = now
                    taken.store(seen, ordering: .releasing)
                    continue
                }
                bell.sleep(timeoutNanos: 10_000_000_000) { published.load(ordering: .acquiring) == seen }
            }
        }
        consumer.start()
        var slowest: Int64 = 0
        for i in 1...items {
            let sent = Clock.monotonicNanos()
            published.store(i, ordering: .releasing)
            bell.ring()
            while taken.load(ordering: .acquiring) < i && Clock.monotonicNanos() - sent < 5_000_000_000 { sched_yield() }  // blocking-checked: the suite is off the pool
            slowest = max(slowest, Clock.monotonicNanos() - sent)
            guard taken.load(ordering: .acquiring) == i else { break }
        }
        #expect(taken.load(ordering: .acquiring) == items, "item \(taken.load(ordering: .acquiring) + 1) was not taken within 5 s")
        #expect(slowest < 2_000_000_000, "no wake-up was lost: the slowest hand-off took \(slowest / 1_000) µs")
        #expect(Clock.monotonicNanos() - start < 30_000_000_000)
    }

    @Test func onlyAnUrgentRingWakesADozer() throws {
        let bell = Doorbell()
        let woke = ManagedAtomic<Int64>(0)
        let dozer = Thread {
            bell.sleep(timeoutNanos: 2_000_000_000, dozing: true) { true }
            woke.store(Clock.monotonicNanos(), ordering: .releasing)
        }
        let start = Clock.monotonicNanos()
        dozer.start()
        sleepBlocking(.microseconds(50_000))
        bell.ring()  // not urgent: the dozer sleeps on
        sleepBlocking(.microseconds(200_000))
        #expect(woke.load(ordering: .acquiring) == 0, "an ordinary ring does not wake a dozing consumer")
        bell.ringUrgently()
        let deadline = Clock.monotonicNanos() + 10_000_000_000
        while woke.load(ordering: .acquiring) == 0 && Clock.monotonicNanos() < deadline { sleepBlocking(.microseconds(1_000)) }
        let after = woke.load(ordering: .acquiring) - start
        #expect(after > 200_000_000 && after < 1_500_000_000, "woken by the urgent ring, not the 2 s timeout: \(after / 1_000_000) ms")
    }
}
