/// The rates `--find-max` tries: up by `growth` while each step holds, then `refinements` halvings
/// of the interval between the highest rate held and the lowest that failed.
public struct RateSearch: Sendable, Equatable {
    public private(set) var current: Double
    public private(set) var highestHeld: Double?
    private var lowestFailed: Double?
    private var refinementsLeft: Int
    private let growth: Double
    private let ceiling: Double

    public init(start: Double, growth: Double = 1.5, refinements: Int = 2, ceiling: Double = 10_000_000) {
        precondition(start > 0 && growth > 1)
        current = start
        self.growth = growth
        refinementsLeft = refinements
        self.ceiling = ceiling
    }

    /// Records whether `current` held; returns the next rate to try, or nil when the search is over.
    public mutating func record(held: Bool) -> Double? {
        if held { highestHeld = max(highestHeld ?? 0, current) } else { lowestFailed = min(lowestFailed ?? .infinity, current) }
        guard let failed = lowestFailed else {
            guard current < ceiling else { return nil }
            current = min(ceiling, (current * growth).rounded())
            return current
        }
        guard let held = highestHeld, refinementsLeft > 0 else { return nil }
        let middle = ((held + failed) / 2).rounded()
        guard middle > held && middle < failed else { return nil }
        refinementsLeft -= 1
        current = middle
        return current
    }
}

/// Whether one `--find-max` step held its rate, and if not, why.
public enum StepVerdict {
    /// nil when the step held: nothing lost, p99 within `p99Bound`, and storage caught up with the
    /// feed within max(2 s, a tenth of the step) of the last tick sent.
    public static func failure(of result: BenchResult, p99Bound: Int64) -> String? {
        if let first = result.failures.first { return first }
        if result.all.p99 > p99Bound {
            return String(format: "p99 %.1f ms above the bound of %.1f ms", Double(result.all.p99) / 1e6, Double(p99Bound) / 1e6)
        }
        let allowed = max(2.0, result.feed.scheduleSeconds / 10)
        if result.storage != nil, result.catchUpSeconds > allowed {
            return String(format: "storage fell behind: %.1f s after the last tick to commit everything (allowed %.1f s)", result.catchUpSeconds, allowed)
        }
        return nil
    }
}
