import Histogram

/// Latencies in nanoseconds, kept by HdrHistogram (3 significant digits, 1 µs to 10 minutes); a
/// larger value is counted at the top of the range rather than lost.
public struct LatencyHistogram: Sendable {
    public private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 600_000_000_000,
                                                          numberOfSignificantValueDigits: .three)

    public init() {}

    public var count: UInt64 { histogram.totalCount }

    public mutating func record(nanos: Int64) {
        let value = UInt64(max(0, min(nanos, 600_000_000_000)))
        _ = histogram.record(value)
    }

    public mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// The percentiles the report shows.
    public var summary: LatencySummary {
        func at(_ p: Double) -> Int64 { count == 0 ? 0 : Int64(histogram.valueAtPercentile(p)) }
        return LatencySummary(count: count, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), p9999: at(99.99),
                              max: count == 0 ? 0 : Int64(histogram.max))
    }

    /// (percentile, value) points for a percentile plot, from 0 up to the maximum.
    public func percentileCurve() -> [(percentile: Double, nanos: Int64)] {
        guard count > 0 else { return [] }
        return histogram.percentiles(ticksPerHalfDistance: 5).map { ($0.percentileLevelIteratedTo, Int64($0.value)) }
    }
}

/// The percentiles of one latency distribution, in nanoseconds.
public struct LatencySummary: Sendable, Codable, Equatable {
    public var count: UInt64
    public var p50: Int64
    public var p90: Int64
    public var p99: Int64
    public var p999: Int64
    public var p9999: Int64
    public var max: Int64
}
