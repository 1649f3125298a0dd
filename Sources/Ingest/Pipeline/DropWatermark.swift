import Atomics

/// Per feed, the highest sequence number a lane dropped (its ring was full): what a consumer
/// that can catch up elsewhere (the Kafka lane, from the store) must reach again. Written by the
/// pipeline thread only when it drops, read by the consumer.
public final class DropWatermark: Sendable {
    private let feeds: [UInt16]
    private let highest: [ManagedAtomic<UInt64>]

    public init(feeds: [UInt16]) {
        self.feeds = feeds
        highest = feeds.map { _ in ManagedAtomic<UInt64>(0) }
    }

    /// Pipeline side: notes the ticks that did not fit.
    func record(_ ticks: UnsafeBufferPointer<Tick>) {
        for t in ticks where t.sequence > 0 {
            guard let i = feeds.firstIndex(of: t.feed) else { continue }
            if t.sequence > highest[i].load(ordering: .relaxed) { highest[i].store(t.sequence, ordering: .releasing) }
        }
    }

    /// The highest sequence number of `feed` dropped so far (0: none).
    public func highest(of feed: UInt16) -> UInt64 {
        feeds.firstIndex(of: feed).map { highest[$0].load(ordering: .acquiring) } ?? 0
    }
}
