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
/// between `disconnectedAt` and `reconnectedAt` (UTC ns) may be missing; an exchange feed whose
/// books can no longer be trusted (messages lost, or the feed went silent); or one that is whole
/// again (a new session).
public struct FeedNotice: Sendable, Equatable {
    public enum Status: String, Sendable {
        case reconnected = "RECONNECTED"
        case stale = "STALE"
        case fresh = "FRESH"
    }

    public var feed: String
    public var status: Status
    public var disconnectedAt: Int64
    public var reconnectedAt: Int64
    /// The symbols concerned (stale or fresh again); empty for a reconnect.
    public var symbols: [String]
    /// Why, in words, when there is more to say than the status.
    public var reason: String?

    public init(feed: String, disconnectedAt: Int64, reconnectedAt: Int64) {
        self.feed = feed
        status = .reconnected
        self.disconnectedAt = disconnectedAt
        self.reconnectedAt = reconnectedAt
        symbols = []
    }

    public init(feed: String, status: Status, at time: Int64, symbols: [String], reason: String?) {
        self.feed = feed
        self.status = status
        disconnectedAt = time
        reconnectedAt = time
        self.symbols = symbols
        self.reason = reason
    }
}
