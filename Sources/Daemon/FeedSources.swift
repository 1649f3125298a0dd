import Ingest
import ServiceLifecycle
import Synchronization

/// The feed formats that a module reads itself (AlgoLab's WebSocket), not the socket readers:
/// the module registers how to start a source for its format, and the market data asks for one
/// per such feed. The daemon offers one registry to every module (`context.shared`).
public final class FeedSources: Sendable {
    /// What a source is started with.
    public struct Request: Sendable {
        public var feed: FeedEndpoint
        public var symbols: SymbolTable
        public var ringCapacity: Int
        /// The pipeline's doorbell, rung after every hand-off.
        public var doorbell: Doorbell
        /// The highest stored sequence number of the feed: the source numbers on after it.
        public var checkpoint: UInt64?
        /// Tells the fan-out's clients what happened to the feed (a reconnect that may have lost ticks).
        public var announce: @Sendable (FeedNotice) -> Void

        public init(feed: FeedEndpoint, symbols: SymbolTable, ringCapacity: Int, doorbell: Doorbell, checkpoint: UInt64?,
                    announce: @escaping @Sendable (FeedNotice) -> Void) {
            self.feed = feed
            self.symbols = symbols
            self.ringCapacity = ringCapacity
            self.doorbell = doorbell
            self.checkpoint = checkpoint
            self.announce = announce
        }
    }

    /// A started source: what the pipeline drains, and the service that runs it (stopped before
    /// the pipeline, which then drains its ring).
    public struct Started: Sendable {
        public var source: any TickSource
        public var service: any Service
        public init(source: any TickSource, service: any Service) {
            self.source = source
            self.service = service
        }
    }

    public typealias Factory = @Sendable (Request) throws -> Started

    private let factories = Mutex<[FeedFormat: Factory]>([:])

    public init() {}

    public func register(_ format: FeedFormat, _ factory: @escaping Factory) {
        factories.withLock { $0[format] = factory }
    }

    /// Starts the source of a feed in a module-read format; an error names the module missing.
    public func start(_ request: Request) throws -> Started {
        guard let factory = factories.withLock({ $0[request.feed.format] }) else {
            throw DaemonError("feed \(request.feed.name): format \"\(request.feed.format.rawValue)\" needs the [\(request.feed.format.rawValue)] table")
        }
        return try factory(request)
    }
}
