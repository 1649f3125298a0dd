import Aggregator
import AkisConfig
import Fanout
import ArgumentParser
import Atomics
import Foundation
import Ingest
import Logging
import RingBuffer
import Store

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the ingestion daemon.",
        discussion: """
            Reads the feeds named in the configuration (io_uring reader threads), checks sequence \
            numbers, and hands ticks through lock-free rings to the pipeline thread and on to its \
            consumers. Logs a summary line every [serve] stats_interval and stops cleanly on \
            SIGINT/SIGTERM after draining every ring. Without --config, the embedded default listens \
            for one binary TCP feed on 127.0.0.1:7400 (see docs/configuration.md).
            """)

    @Option(help: "Configuration file (TOML). Without it, the embedded default.") var config: String?
    @Option(help: "Once every feed is bound, write \"feed NAME ADDRESS\" per listening feed and \"http HOST:PORT\" to this file.")
    var readyFile: String?
    @Flag(help: "Validate the configuration, print what it resolves to, and exit.") var checkConfig = false

    func run() throws {
        let settings = try loadConfiguration(config)
        if checkConfig {
            print(describe(settings))
            return
        }
        let logger = { var l = Logger(label: "akis"); l.logLevel = .info; return l }()
        let log: @Sendable (String) -> Void = { logger.info("\($0)") }

        let storeLane = ConsumerLane(name: "store", capacity: settings.storeLane.capacity, policy: settings.storeLane.policy)
        let fanoutLane = ConsumerLane(name: "fanout", capacity: settings.fanoutLane.capacity, policy: settings.fanoutLane.policy)
        let storeCandles = CandleOutlet(lane: storeLane)
        let fanoutCandles = CandleOutlet(lane: fanoutLane)
        let storeSnapshots = SnapshotOutlet()
        var checkpoints: [UInt16: UInt64] = [:]
        var storeWriter: CopyBatchWriter?
        var maintenanceTimer: MaintenanceTimer?
        defer { maintenanceTimer?.stop() }
        if let url = settings.databaseURL {
            let db = try PostgresConnection(conninfo: url)
            let layout = try StorageLayout.detect(db)
            log("database: PostgreSQL \(db.serverVersion / 10000).\(db.serverVersion % 10000), layout \(layout.rawValue)\(layout == .plain ? " (TimescaleDB not available: native partitioning)" : "")")
            let report = try Migrator(layout: layout).run(on: db) { log("database: applying migration \($0.version): \($0.name)") }
            log("database: schema at version \(report.current)")
            let maintenance = StorageMaintenance(retentionDays: settings.store.retentionDays, compressAfterDays: settings.store.compressAfterDays)
            do { log("database: \(try maintenance.run(on: db, layout: layout))") } catch {
                log("database: maintenance failed (retried in an hour): \(error)")
            }
            maintenanceTimer = MaintenanceTimer(conninfo: url, layout: layout, maintenance: maintenance, log: log)
            checkpoints = try CopyBatchWriter.checkpoints(db)
            let w = try CopyBatchWriter(conninfo: url, symbols: settings.symbols, layout: layout, options: writerOptions(settings),
                                        candles: storeCandles, snapshots: storeSnapshots, log: log)
            // Batches an earlier run left in the spool are stored before anything new.
            checkpoints.merge(w.spool.recoveredHighest, uniquingKeysWith: max)
            storeWriter = w
            if !checkpoints.isEmpty {
                log("database: resuming sequence tracking after " + checkpoints.sorted { $0.key < $1.key }.map { "feed \($0.key) at \($0.value)" }.joined(separator: ", "))
            }
        }
        let uring = IOUringSupport.probe()
        log("io_uring probe: best path \(uring.bestReceivePath.rawValue) (setup errno \(uring.setupErrno), buffer ring errno \(uring.bufferRingErrno), multishot errno \(uring.multishotErrno))")

        StopSignal.install { signal in log("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): draining and stopping") }

        // Feeds are spread over the reader threads in order; each reader has its own ring.
        let threads = min(settings.readerThreads, settings.feeds.count)
        var readers: [FeedReader] = []
        let pipelineDoorbell = Doorbell()
        for r in 0..<threads {
            let feeds = settings.feeds.enumerated().filter { $0.offset % threads == r }.map(\.element)
            let reader: FeedReader
            do {
                reader = try FeedReader(feeds: feeds, symbols: settings.symbols, options: settings.reader,
                                        ring: SPSCRing(minimumCapacity: settings.readerRingCapacity), doorbell: pipelineDoorbell, log: log)
            } catch {
                throw CLIError("cannot start the feed reader: \(error)")
            }
            readers.append(reader)
            for (i, feed) in feeds.enumerated() {
                let at = reader.boundAddresses[i].map { "listening on \($0)" } ?? "connecting to \(feed.address)"
                log("feed \(feed.name) (id \(feed.id), \(feed.format.rawValue)): \(at); reader \(r + 1) receives with \(reader.receivePath.summary)")
            }
        }

        // Without a database the store lane ends in a counting consumer (it checksums what it receives).
        let store = CountingConsumer(symbolCount: settings.symbols.count)
        let writer = storeWriter
        var aggregation = AggregationStage.Options()
        aggregation.candles = settings.candles
        aggregation.calendar = settings.calendar
        aggregation.snapshotIntervalNanos = settings.snapshotIntervalNanos
        // Candle updates go to the fan-out, and to the store writer when there is one.
        let aggregator = AggregationStage(symbolCount: settings.symbols.count, outlets: (writer == nil ? [] : [storeCandles]) + [fanoutCandles],
                                          snapshots: writer == nil ? nil : storeSnapshots, options: aggregation, log: log)
        var fanoutOptions = FanoutHub.Options()
        fanoutOptions.maximumClients = settings.fanout.maximumClients
        fanoutOptions.clientQueueCapacity = settings.fanout.clientQueue
        let fanout = FanoutHub(symbols: settings.symbols, latest: aggregator.latest, calendar: settings.calendar, lane: fanoutLane, candles: fanoutCandles,
                               options: fanoutOptions)
        let pipeline = Pipeline(readers: readers, lanes: [storeLane, fanoutLane], stages: [aggregator], checkpoints: checkpoints, log: log)

        let workers = [
            WorkerThread(name: "akis-store") { if let writer { storeLane.run(writer) } else { storeLane.run(store) } },
            WorkerThread(name: "akis-fanout") { fanoutLane.run(fanout) },
            WorkerThread(name: "akis-pipeline") { pipeline.run() },
        ] + readers.enumerated().map { r, reader in
            WorkerThread(name: "akis-reader-\(r + 1)") { try reader.run(stop: StopSignal.requested) }
        }
        let metrics = ServeMetrics(readers: readers, pipeline: pipeline, aggregator: aggregator, writer: writer, fanout: fanout, fanoutCandles: fanoutCandles)
        let ready = ManagedAtomic<Bool>(false)
        let market = MarketRoutes(parser: MarketQueryParser(symbols: settings.symbols), history: settings.databaseURL.map { MarketHistory(conninfo: $0) },
                                  latest: aggregator.latest, calendar: settings.calendar)
        let http = try StatusServer(host: settings.httpHost, port: settings.httpPort, metrics: metrics, ready: ready, market: market,
                                    marketData: MarketDataSocket(hub: fanout, symbols: settings.symbols), logger: logger)
        defer { http.stop() }
        let httpAddress = settings.httpHost.contains(":") ? "[\(settings.httpHost)]:\(http.boundPort)" : "\(settings.httpHost):\(http.boundPort)"
        log("http: metrics at http://\(httpAddress)/metrics, health at /healthz and /readyz, latest prices at /api/market/latest, history at /api/market/ticks and /api/market/candles, live ticks and candles at ws://\(httpAddress)\(MarketDataSocket.path)")
        ready.store(true, ordering: .releasing)
        if let readyFile {
            let lines = readers.flatMap { r in zip(r.feeds, r.boundAddresses).compactMap { f, a in a.map { "feed \(f.name) \($0)\n" } } }
            try (lines.joined() + "http \(httpAddress)\n").write(toFile: readyFile, atomically: true, encoding: .utf8)
        }
        var report = ServeReport(readers: readers, pipeline: pipeline, aggregator: aggregator, writer: writer)
        let notifier = SystemdNotifier()
        notifier.send("READY=1\nSTATUS=serving \(settings.feeds.count) feeds")

        report.start(now: Clock.monotonicNanos())
        var nextSummary = Clock.monotonicNanos() + settings.statsIntervalNanos
        var nextWatchdog: Int64 = 0
        // The watchdog is fed only while the reader and pipeline threads keep turning.
        let heartbeats = { [pipeline.heartbeat.load(ordering: .relaxed)] + readers.map { $0.heartbeat.load(ordering: .relaxed) } }
        var lastBeats = heartbeats().map { $0 &- 1 }
        while !StopSignal.requested.load(ordering: .acquiring) {
            if workers.contains(where: \.failed) { StopSignal.requested.store(true, ordering: .releasing); break }
            usleep(50_000)
            let now = Clock.monotonicNanos()
            if now >= nextSummary {
                nextSummary = now + settings.statsIntervalNanos
                if let line = report.periodicSummary(now: now) { log(line) }
            }
            if let interval = notifier.watchdogNanos, now >= nextWatchdog {
                nextWatchdog = now + interval / 2
                let beats = heartbeats()
                if zip(beats, lastBeats).allSatisfy({ $0 != $1 }) {
                    notifier.send("WATCHDOG=1")
                } else {
                    log("watchdog: a reader or the pipeline thread has not advanced in \(interval / 2_000_000) ms; not notifying systemd")
                }
                lastBeats = beats
            }
        }
        notifier.send("STOPPING=1")
        // Readers stop first; the pipeline drains their rings, then closes the lanes, which the
        // consumers drain before they finish.
        for worker in workers.reversed() { worker.join() }
        // The fan-out has queued the last candles and ended every client's queue; the clients get
        // a moment to take the rest and the close before the HTTP server (and their sockets) go.
        let clientsDeadline = Clock.monotonicNanos() + 5_000_000_000
        while fanout.clientsConnected.load(ordering: .relaxed) > 0 && Clock.monotonicNanos() < clientsDeadline { usleep(10_000) }
        if case let left = fanout.clientsConnected.load(ordering: .relaxed), left > 0 {
            log("fanout: \(left) WebSocket clients had not taken their last messages after 5 s; closing them")
        }
        for line in report.feedLines() { log(line) }
        log("stopped: \(report.summary())" + (writer == nil ? "; store checksum \(store.checksum.map { "\($0)" } ?? "none")" : ""))
        if let failure = workers.compactMap(\.error).first { throw CLIError("\(failure)") }
    }

    private func writerOptions(_ settings: AkisConfiguration) -> CopyBatchWriter.Options {
        let s = settings.store
        var spool = TickSpool.Options(directory: s.spoolDirectory)
        spool.maximumBytes = s.spoolMaximumBytes
        spool.segmentBytes = s.spoolSegmentBytes
        var options = CopyBatchWriter.Options(spool: spool)
        options.flushIntervalNanos = s.flushIntervalNanos
        options.maximumBatchTicks = s.batchTicks
        options.writerID = s.writerID
        options.calendar = settings.calendar
        options.candleRebuildWindowNanos = max(options.candleRebuildWindowNanos, Candle.minuteNanos * 6 + settings.candles.allowedLatenessNanos)
        return options
    }

    private func loadConfiguration(_ path: String?) throws -> AkisConfiguration {
        guard let path else { return AkisConfiguration() }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("cannot read the configuration file \(path): \((error as NSError).localizedDescription)")
        }
        do { return try AkisConfiguration.parse(text) } catch { throw CLIError("\(path): \(error)") }
    }

    private func describe(_ c: AkisConfiguration) -> String {
        var lines = ["configuration is valid", "symbols: \(c.symbols.count)", "database: \(c.databaseURL == nil ? "none" : "configured")",
                     "http: \(c.httpHost):\(c.httpPort)",
                     "store: flush every \(c.store.flushIntervalNanos / 1_000_000) ms or \(c.store.batchTicks) ticks, writer \(c.store.writerID), spool \(c.store.spoolDirectory) (at most \(c.store.spoolMaximumBytes >> 20) MiB)",
                     "candles: grace \(c.candles.graceNanos / 1_000_000) ms, allowed lateness \(c.candles.allowedLatenessNanos / 1_000_000) ms; top-of-book snapshots every \(c.snapshotIntervalNanos / 1_000_000) ms",
                     "calendar: \(c.calendar.holidays.count) holidays, \(c.calendar.halfDays.count) half days, sessions " + c.calendar.regularDay.map { "\($0.minute / 60):\($0.minute % 60 < 10 ? "0" : "")\($0.minute % 60) \($0.phase.rawValue)" }.joined(separator: ", "),
                     "reader threads: \(min(c.readerThreads, c.feeds.count)), receive path: \(c.reader.receivePath?.rawValue ?? "auto")",
                     "lanes: store \(c.storeLane.policy.rawValue) (\(c.storeLane.capacity)), fanout \(c.fanoutLane.policy.rawValue) (\(c.fanoutLane.capacity))",
                     "fanout: at most \(c.fanout.maximumClients) WebSocket clients, \(c.fanout.clientQueue) messages queued each"]
        for f in c.feeds { lines.append("feed \(f.name): id \(f.id), \(f.role.rawValue) \(f.address), \(f.format.rawValue)") }
        return lines.joined(separator: "\n")
    }
}
