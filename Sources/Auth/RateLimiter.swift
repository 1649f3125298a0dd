import Synchronization

/// Token buckets by key (a client address, an account), in memory: a restart forgets them, as the
/// reference's Redis counters may. Each key holds `perMinute` (or `burst`) requests and refills at its rate;
/// a request that finds its bucket empty is told how many seconds until it may try again.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    private let capacity: Double
    private let perNano: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Keys kept at most; when more arrive, full buckets are forgotten first (they carry no state).
    private let maximumKeys: Int

    public convenience init(perMinute: Int, maximumKeys: Int = 100_000) {
        self.init(burst: perMinute, perSecond: Double(perMinute) / 60, maximumKeys: maximumKeys)
    }

    /// Buckets of `burst` requests that refill at `perSecond`.
    public init(burst: Int, perSecond: Double, maximumKeys: Int = 100_000) {
        capacity = Double(burst)
        perNano = perSecond / 1e9
        self.maximumKeys = maximumKeys
    }

    /// Takes one request for `key` at `now` (monotonic ns): nil if allowed, else the seconds to wait.
    public func take(_ key: String, now: Int64) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + Double(max(0, now - bucket.updated)) * perNano)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / perNano / 1e9).rounded(.up)))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            if buckets.count > maximumKeys {
                buckets = buckets.filter { $0.value.tokens + Double(now - $0.value.updated) * perNano < capacity }
            }
            return nil
        }
    }
}
