import Ingest
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
