import Atomics

/// What one feed has delivered so far, for logs and metrics. Written by the feed's reader thread,
/// read by any.
public final class FeedCounters: Sendable {
    public let bytes = ManagedAtomic<UInt64>(0)
    public let ticks = ManagedAtomic<UInt64>(0)
    public let rejected = ManagedAtomic<UInt64>(0)
    /// Connections opened (accepted, or connected out) over the feed's life.
    public let connections = ManagedAtomic<UInt64>(0)
    /// Connections that ended (closed by the peer, reset, or failed).
    public let disconnects = ManagedAtomic<UInt64>(0)
    /// Connect attempts that failed (connect-mode feeds).
    public let connectFailures = ManagedAtomic<UInt64>(0)
    /// Reconnects after which messages may be missing (a feed without sequence numbers).
    public let possibleGaps = ManagedAtomic<UInt64>(0)
    /// Datagrams the kernel dropped because the socket's receive buffer was full (UDP feeds).
    public let kernelDrops = ManagedAtomic<UInt64>(0)
    private let rejectedKinds = (0..<FrameErrorKind.allCases.count).map { _ in ManagedAtomic<UInt64>(0) }

    public init() {}

    package func countRejected(_ kind: FrameErrorKind) {
        rejected.wrappingIncrement(ordering: .relaxed)
        rejectedKinds[kind.rawValue].wrappingIncrement(ordering: .relaxed)
    }

    public subscript(kind: FrameErrorKind) -> UInt64 { rejectedKinds[kind.rawValue].load(ordering: .relaxed) }

    /// Rejections so far, by kind, leaving out kinds with none.
    public func rejectedByKind() -> [(FrameErrorKind, UInt64)] {
        FrameErrorKind.allCases.compactMap { k in
            let n = self[k]
            return n > 0 ? (k, n) : nil
        }
    }
}
