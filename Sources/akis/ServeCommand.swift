import AkisConfig
import ArgumentParser
import AlgoLab
import Auth
import Daemon
import Events
import Foundation
import Ingest
import Logging
import Orders
import Store
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the ingestion daemon.",
        discussion: """
            Runs the daemon's modules (docs/architecture.md) as one service group: reads the feeds \
            named in the configuration (io_uring reader threads), checks sequence numbers, hands \
            ticks through lock-free rings to the pipeline thread and on to its consumers (storage, \
            WebSocket fan-out), and serves the HTTP API. Logs a summary line when something changed \
            ([serve] stats_interval). Stops cleanly on SIGINT/SIGTERM after draining every ring; the \
            same signal again exits at once. Without --config, the embedded default listens for one \
            binary TCP feed on 127.0.0.1:7400 (see docs/configuration.md).
            """)

    @Option(help: "Configuration file (TOML). Without it, the embedded default.") var config: String?
    @Option(help: "Once every feed is bound, write \"feed NAME ADDRESS\" per listening feed and \"http HOST:PORT\" to this file.")
    var readyFile: String?
    @Flag(help: "Validate the configuration, print what it resolves to, and exit.") var checkConfig = false

    /// The daemon's modules, in order: their migrations run in this order, and they stop in
    /// the reverse order. A new module is one more line here.
    static let modules: [any DaemonModule.Type] = [
        EventsModule.self,
        AuthModule.self,
        AlgoLabModule.self,
        MarketDataModule.self,
        MarketHistoryModule.self,
        OrdersModule.self,
    ]

    func run() async throws {
        var settings = try loadConfiguration(config)
        if checkConfig {
            print(describe(settings))
            return
        }
        var logger = Logger(label: "akis")
        logger.logLevel = .info
        if settings.symbolsFromExchange {
            // It waits for the database (at most the pool's timeouts): off the cooperative pool.
            settings = await withTaskExecutorPreference(BlockingExecutor.shared) { [settings] in
                var settings = settings
                Self.addExchangeSymbols(to: &settings, logger: logger)
                return settings
            }
        }
        do {
            try await Daemon(configuration: settings, logger: logger, readyFile: readyFile).run(Self.modules)
        } catch let error as ThreadFailure {
            throw CLIError("\(error)")
        } catch let error as DaemonError {
            throw CLIError("\(error)")
        }
    }

    /// `[market] symbols_from_exchange`: the instruments exchange feeds announced on earlier runs
    /// join the universe. Without a database, or before any was stored, the configured symbols stay.
    static func addExchangeSymbols(to settings: inout AkisConfiguration, logger: Logger) {
        guard let url = settings.databaseURL else {
            logger.info("market: symbols_from_exchange needs [database]; the configured \(settings.symbols.count) symbols stay")
            return
        }
        // A database that does not answer must not hold the start: the pool's timeouts bound the read.
        let limit = Double(settings.databasePool.connectTimeoutNanos + settings.databasePool.statementTimeoutNanos) / 1e9
        let answer = Mutex<Result<[String], any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let result = Result { try ExchangeInstruments.symbols(on: LibpqConnection(conninfo: url)) }
            answer.withLock { $0 = result }
            done.signal()
        }.start()
        guard done.wait(timeout: .now() + limit) == .success, let result = answer.withLock({ $0 }) else {
            logger.info("market: exchange_instruments did not answer within \(limit) s; the configured \(settings.symbols.count) symbols stay")
            return
        }
        let stored: [String]
        do { stored = try result.get() } catch {
            logger.info("market: cannot read exchange_instruments (\(error)); the configured \(settings.symbols.count) symbols stay")
            return
        }
        var added: [String] = []
        var refused = 0
        for name in stored where settings.symbols.id(for: name) == nil {
            do {
                try settings.symbols.intern(name)
                added.append(name)
            } catch {
                refused += 1
            }
        }
        var line = "market: \(added.count) symbols from exchange_instruments join the \(settings.symbols.count - added.count) configured"
        if !added.isEmpty { line += ": " + added.prefix(10).joined(separator: ", ") }
        if added.count > 10 { line += " and \(added.count - 10) more" }
        if refused > 0 { line += "; \(refused) are not valid symbols and stay out" }
        logger.info("\(line)")
    }

    private func loadConfiguration(_ path: String?) throws -> AkisConfiguration {
        guard let path else { return AkisConfiguration() }
        return try Self.readConfiguration(path)
    }

    /// The configuration file at `path`, with every module's section, as `serve` reads it; the
    /// errors name the file (and the key and line). Every command that takes `--config` reads it so.
    static func readConfiguration(_ path: String) throws -> AkisConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("cannot read the configuration file \(path): \((error as NSError).localizedDescription)")
        }
        do { return try AkisConfiguration.parse(text, modules: Daemon.settings(modules)) } catch { throw CLIError("\(path): \(error)") }
    }

    private func summary<S: ModuleSettings>(of _: S.Type, in c: AkisConfiguration) -> String { c.settings(S.self).summary }

    private func describe(_ c: AkisConfiguration) -> String {
        var lines = ["configuration is valid", "symbols: \(c.symbols.count)" + (c.symbolsFromExchange ? ", and those stored in exchange_instruments at start and announced by bist-itch feeds while running" : ""), "database: \(c.databaseURL == nil ? "none" : "configured, pool of \(c.databasePool.connections), connect timeout \(c.databasePool.connectTimeoutNanos / 1_000_000) ms, statement timeout \(c.databasePool.statementTimeoutNanos / 1_000_000) ms")",
                     "http: \(c.httpHost):\(c.httpPort), operator routes \(c.operatorRoutes == .local ? "for loopback clients only" : "open")",
                     "store: flush every \(c.store.flushIntervalNanos / 1_000_000) ms or \(c.store.batchTicks) ticks, writer \(c.store.writerID), spool \(c.store.spoolDirectory) (at most \(c.store.spoolMaximumBytes >> 20) MiB)",
                     "candles: grace \(c.candles.graceNanos / 1_000_000) ms, allowed lateness \(c.candles.allowedLatenessNanos / 1_000_000) ms; top-of-book snapshots every \(c.snapshotIntervalNanos / 1_000_000) ms",
                     "calendar: \(c.calendar.holidays.count) holidays, \(c.calendar.halfDays.count) half days, sessions " + c.calendar.regularDay.map { "\($0.minute / 60):\($0.minute % 60 < 10 ? "0" : "")\($0.minute % 60) \($0.phase.rawValue)" }.joined(separator: ", "),
                     "reader threads: \(min(c.readerThreads, c.feeds.count)), receive path: \(c.reader.receivePath?.rawValue ?? "auto")",
                     "lanes: store \(c.storeLane.policy.rawValue) (\(c.storeLane.capacity)), fanout \(c.fanoutLane.policy.rawValue) (\(c.fanoutLane.capacity))",
                     "fanout: at most \(c.fanout.maximumClients) WebSocket clients, \(c.fanout.clientQueue) messages queued each"]
        for f in c.feeds {
            var line = "feed \(f.name): id \(f.id), \(f.role.rawValue) \(f.address), \(f.format.rawValue)"
            if f.format == .bistITCH {
                let x = f.exchange, r = x.recovery
                line += " on \(f.multicastInterface); rewinder \(x.rewinder.map { "\($0)" } ?? "none (gaps are lost)"), \(r.requestsPerSession) requests a session, "
                    + "recovered share at most \(r.maximumRecoveredShare * 100)%, \(r.messagesPerRequest) messages a request, "
                    + "asked \(r.attempts)x every \(r.timeoutNanos / 1_000_000) ms; seconds from \(x.secondsBase.rawValue); stale after \(x.staleAfterNanos / 1_000_000) ms; "
                    + (x.depthLevels > 0 ? "depth \(x.depthLevels) levels every \(x.depthIntervalNanos / 1_000_000) ms" : "no depth")
            }
            lines.append(line)
        }
        for module in Daemon.settings(Self.modules) { lines.append("\(module.section): \(summary(of: module, in: c))") }
        return lines.joined(separator: "\n")
    }
}
