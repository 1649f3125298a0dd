/// Sequence integrity for one feed: classifies each sequence number as the next one, a jump (a
/// gap, whose missing numbers are remembered), a late arrival that fills a remembered gap, or a
/// duplicate. A duplicate must not be stored again; everything else goes on.
///
/// The first numbered tick sets the baseline (a daemon that joins a feed mid-session reports no
/// gap for what came before), unless the tracker resumes from a stored checkpoint. At most
/// `maximumTrackedGaps` gaps are remembered: when more are open, the oldest is forgotten (counted),
/// and a number from it that still arrives later is then taken for a duplicate.
public struct SequenceTracker: Sendable, Equatable {
    public enum Verdict: Equatable, Sendable {
        /// Sequence 0: the feed does not number its messages.
        case unnumbered
        case next
        /// Numbers between the previous highest and this one are missing.
        case gap(missing: UInt64)
        /// Below the highest, inside a remembered gap: out of order but new.
        case filledGap
        /// Seen before (or below the baseline): drop it.
        case duplicate
    }

    public struct Stats: Sendable, Equatable {
        public var gaps: UInt64 = 0
        /// Numbers reported missing by gaps, before any late arrival filled them.
        public var missing: UInt64 = 0
        public var filled: UInt64 = 0
        public var duplicates: UInt64 = 0
        public var forgottenGaps: UInt64 = 0
        public init() {}
    }

    public private(set) var highest: UInt64 = 0
    public private(set) var stats = Stats()
    public let maximumTrackedGaps: Int
    /// Open gaps, ascending and disjoint.
    private var open: [ClosedRange<UInt64>] = []

    /// - Parameter resumingAfter: the highest sequence already stored for this feed, if known.
    public init(resumingAfter checkpoint: UInt64? = nil, maximumTrackedGaps: Int = 4096) {
        highest = checkpoint ?? 0
        self.maximumTrackedGaps = maximumTrackedGaps
        started = checkpoint != nil
    }

    private var started: Bool

    /// Missing numbers that have not arrived (in the remembered gaps).
    public var outstanding: UInt64 { open.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) } }

    @inline(__always)
    public mutating func observe(_ sequence: UInt64) -> Verdict {
        if sequence == 0 { return .unnumbered }
        if sequence == highest &+ 1 && started {
            highest = sequence
            return .next
        }
        return observeSlow(sequence)
    }

    private mutating func observeSlow(_ sequence: UInt64) -> Verdict {
        if !started {
            started = true
            highest = sequence
            return .next
        }
        if sequence > highest {
            let gap = (highest + 1)...(sequence - 1)
            highest = sequence
            open.append(gap)
            if open.count > maximumTrackedGaps {
                open.removeFirst()
                stats.forgottenGaps += 1
            }
            let missing = sequence - gap.lowerBound
            stats.gaps += 1
            stats.missing += missing
            return .gap(missing: missing)
        }
        // Binary search for the open gap that could hold `sequence`.
        var low = 0, high = open.count
        while low < high {
            let mid = (low + high) / 2
            if open[mid].upperBound < sequence { low = mid + 1 } else { high = mid }
        }
        guard low < open.count, open[low].contains(sequence) else {
            stats.duplicates += 1
            return .duplicate
        }
        let gap = open[low]
        var pieces: [ClosedRange<UInt64>] = []
        if gap.lowerBound < sequence { pieces.append(gap.lowerBound...(sequence - 1)) }
        if sequence < gap.upperBound { pieces.append((sequence + 1)...gap.upperBound) }
        open.replaceSubrange(low...low, with: pieces)
        stats.filled += 1
        return .filledGap
    }
}
