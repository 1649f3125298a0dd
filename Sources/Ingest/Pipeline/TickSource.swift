import Atomics
import RingBuffer

/// What the pipeline drains: a producer thread's ring of ticks from its feeds. The socket
/// readers (`FeedReader`) are one kind; a module's own feed (AlgoLab's WebSocket) is another.
/// Each source is the only producer of its ring and rings the pipeline's doorbell after every
/// hand-off.
public protocol TickSource: AnyObject, Sendable {
    var feeds: [FeedEndpoint] { get }
    /// Per feed, in the order of `feeds`.
    var counters: [FeedCounters] { get }
    var ring: SPSCRing<Tick> { get }
    var doorbell: Doorbell { get }
    /// Set once the source has stopped and every tick it made is in `ring`.
    var finished: ManagedAtomic<Bool> { get }
    /// Times it found `ring` full and waited.
    var ringFullWaits: ManagedAtomic<UInt64> { get }
    /// How it receives, for logs and metrics (`uring_multishot`, `websocket`).
    var receiveDescription: String { get }
}

/// Something a feed's source tells the clients of the fan-out: a reconnect, after which ticks
/// between `disconnectedAt` and `reconnectedAt` (UTC ns) may be missing.
public struct FeedNotice: Sendable, Equatable {
    public var feed: String
    public var disconnectedAt: Int64
    public var reconnectedAt: Int64

    public init(feed: String, disconnectedAt: Int64, reconnectedAt: Int64) {
        self.feed = feed
        self.disconnectedAt = disconnectedAt
        self.reconnectedAt = reconnectedAt
    }
}
