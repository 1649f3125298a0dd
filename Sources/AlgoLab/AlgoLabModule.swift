import AkisConfig
import Atomics
import Daemon
import Ingest
import ServiceLifecycle

/// The AlgoLab module (docs/algolab.md): with `[algolab]`, the broker's session kept alive, the
/// `format = "algolab"` feed (its WebSocket, a source of the market data's pipeline), and for the
/// modules after it the `AlgoLabSessionKeeper` and the account's `AlgoLabOrderUpdates`. Without
/// the table it does nothing (and an algolab feed is an error).
public struct AlgoLabModule: DaemonModule {
    public static let name = "algolab"
    public static var settings: (any ModuleSettings.Type)? { AlgoLabSettings.self }

    public let services: [any Service]

    public init(context: ModuleContext) throws {
        let settings = context.configuration.settings(AlgoLabSettings.self)
        guard settings.enabled else {
            services = []
            return
        }
        let metrics = context.metrics
        let log: @Sendable (String) -> Void = { [logger = context.logger] in logger.info("\($0)") }
        let account: AlgoLabAccount
        do { account = try AlgoLabAccount(settings) } catch { throw DaemonError("[algolab] \(error)") }
        let keeper = AlgoLabSessionKeeper(client: account.client, file: account.sessionFile,
                                          refreshInterval: .nanoseconds(settings.refreshIntervalNanos), log: log)
        context.shared.offer(keeper)
        let orderUpdates = AlgoLabOrderUpdates()
        context.shared.offer(orderUpdates)
        var feedOptions = AlgoLabFeed.Options(webSocketURL: settings.webSocketURL)
        feedOptions.depth = settings.depth
        feedOptions.heartbeatInterval = .nanoseconds(settings.heartbeatIntervalNanos)
        let options = feedOptions
        let feeds = ManagedAtomic<Int>(0)
        try context.shared.take(FeedSources.self, for: Self.name).register(.algolab) { request in
            // One account, one socket: a second feed would only repeat the first.
            guard feeds.loadThenWrappingIncrement(ordering: .relaxed) == 0 else {
                throw DaemonError("feed \(request.feed.name): only one feed may have format \"algolab\"")
            }
            let feed = AlgoLabFeed(feed: request.feed, symbols: request.symbols, ringCapacity: request.ringCapacity, doorbell: request.doorbell,
                                   checkpoint: request.checkpoint, keeper: keeper, orderUpdates: orderUpdates, options: options,
                                   announce: request.announce, log: log)
            let l = [("feed", request.feed.name)]
            metrics.counter("algolab_deeper_depth_rows", "AlgoLab depth rows below the top of book (not kept)", labels: l) {
                feed.deeperDepthRows.load(ordering: .relaxed)
            }
            metrics.counter("algolab_unknown_messages", "AlgoLab WebSocket messages of a type not known (left)", labels: l) {
                feed.unknownMessages.load(ordering: .relaxed)
            }
            return .init(source: feed, service: feed)
        }
        context.readiness.add("algolab session") { keeper.problem }
        metrics.gauge("algolab_session_live", "1 while the AlgoLab session is live, else 0") { keeper.problem == nil ? 1 : 0 }
        metrics.counter("algolab_session_refreshes", "AlgoLab sessions refreshed") { keeper.refreshes.load(ordering: .relaxed) }
        metrics.counter("algolab_session_refresh_failures", "AlgoLab session refreshes that failed") { keeper.refreshFailures.load(ordering: .relaxed) }
        services = [PeriodicService(name: "algolab session", every: .seconds(1), last: { await account.client.shutdown() }) { await keeper.step() }]
    }
}
