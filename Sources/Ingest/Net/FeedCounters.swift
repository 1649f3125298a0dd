import Atomics

/// Counters a reader thread publishes for the rest of the process (logs, metrics).
/// Written by one thread, read by any.
public final class FeedCounters: Sendable {
    public let bytes = ManagedAtomic<UInt64>(0)
    public let ticks = ManagedAtomic<UInt64>(0)
    public let rejected = ManagedAtomic<UInt64>(0)
    /// Times the reader found the pipeline ring full and had to wait (TCP backpressure).
    public let ringFullWaits = ManagedAtomic<UInt64>(0)
    public let connections = ManagedAtomic<Int>(0)
    private let rejectedKinds = (0..<FrameErrorKind.allCases.count).map { _ in ManagedAtomic<UInt64>(0) }

    public init() {}

    func countRejected(_ kind: FrameErrorKind) {
        rejected.wrappingIncrement(ordering: .relaxed)
        rejectedKinds[kind.rawValue].wrappingIncrement(ordering: .relaxed)
    }

    /// Rejections so far, by kind, leaving out kinds with none.
    public func rejectedByKind() -> [(FrameErrorKind, UInt64)] {
        FrameErrorKind.allCases.compactMap { k in
            let n = rejectedKinds[k.rawValue].load(ordering: .relaxed)
            return n > 0 ? (k, n) : nil
        }
    }
}
