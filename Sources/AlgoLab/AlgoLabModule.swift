import AkisConfig
import Daemon
import ServiceLifecycle

/// The AlgoLab module (docs/algolab.md): with `[algolab]`, the broker's session kept alive for
/// the modules after it, which take its `AlgoLabSessionKeeper` (the feed, the orders). Without
/// the table it does nothing.
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
        let account: AlgoLabAccount
        do { account = try AlgoLabAccount(settings) } catch { throw DaemonError("[algolab] \(error)") }
        let keeper = AlgoLabSessionKeeper(client: account.client, file: account.sessionFile,
                                          refreshInterval: .nanoseconds(settings.refreshIntervalNanos), log: { [logger = context.logger] in logger.info("\($0)") })
        context.shared.offer(keeper)
        context.readiness.add("algolab session") { keeper.problem }
        context.metrics.gauge("algolab_session_live", "1 while the AlgoLab session is live, else 0") { keeper.problem == nil ? 1 : 0 }
        context.metrics.counter("algolab_session_refreshes", "AlgoLab sessions refreshed") { keeper.refreshes.load(ordering: .relaxed) }
        context.metrics.counter("algolab_session_refresh_failures", "AlgoLab session refreshes that failed") { keeper.refreshFailures.load(ordering: .relaxed) }
        services = [PeriodicService(name: "algolab session", every: .seconds(1), last: { await account.client.shutdown() }) { await keeper.step() }]
    }
}
