import Fanout
import Testing

@Suite struct CommandRateLimitTests {
    /// How many of `n` commands at `nanos` the limit allows.
    func allowed(_ n: Int, at nanos: Int64, _ limit: inout CommandRateLimit) -> Int {
        var count = 0
        for _ in 0..<n where limit.allow(at: nanos) { count += 1 }
        return count
    }

    @Test func aBurstIsAllowedThenTheRateRefillsIt() {
        var limit = CommandRateLimit.standard
        let t0: Int64 = 5_000_000_000
        #expect(allowed(limit.burst + 10, at: t0, &limit) == limit.burst)
        // 100 ms later: 5 more at 50 a second.
        #expect(allowed(10, at: t0 + 100_000_000, &limit) == 5)
        // A long pause refills up to the burst, not beyond.
        #expect(allowed(limit.burst + 10, at: t0 + 3_600_000_000_000, &limit) == limit.burst)
    }
}
