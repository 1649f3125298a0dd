import Aggregator
import AkisConfig
import Atomics
import Daemon
import Events
import Fanout
import Hummingbird
import Ingest
import NIOPosix
import RingBuffer
import ServiceLifecycle
import Store
import Synchronization

/// The market data, as a module of the daemon: the feed readers, the pipeline with the
/// aggregator, its two consumer lanes (store: the COPY batch writer, or a counting sink without a
/// database; fan-out: `/ws/market-data`), the latest prices (`/api/market/latest`), the market
/// schema and its maintenance, and the periodic summary. The history API is a module of its own
/// (`MarketHistoryModule`).
///
/// The hot path keeps its dedicated threads, each a `ThreadService`, listed in the order the
/// drain needs them stopped, reversed: readers stop first; the pipeline drains their rings, then
/// closes the lanes; the store writer commits (or spools) the last batch; the fan-out sends the
/// last messages and closes every client with 1001, and waits up to 5 s for them to take it
/// before the HTTP server goes. The summary service stops after all of them and logs the totals.
struct MarketDataModule: DaemonModule {
    static let name = Migration.marketModule
    static var migrations: [Migration] { Migration.all }

    let services: [any Service]
    let listening: [String]
    private let routes: MarketRoutes
    private let socket: MarketDataSocket

    init(context: ModuleContext) throws {
        let settings = context.configuration
        let access = try MarketAccess.of(context, for: Self.name)
        let log: @Sendable (String) -> Void = { [logger = context.logger] in logger.info("\($0)") }
        // One id space for every part; with symbols_from_exchange, exchange feeds' directories grow it.
        let universe = SymbolUniverse(settings.symbols)
        context.shared.offer(universe)
        let storeLane = ConsumerLane(name: "store", capacity: settings.storeLane.capacity, policy: settings.storeLane.policy)
        let fanoutLane = ConsumerLane(name: "fanout", capacity: settings.fanoutLane.capacity, policy: settings.fanoutLane.policy)
        let storeCandles = CandleOutlet(lane: storeLane)
        let fanoutCandles = CandleOutlet(lane: fanoutLane)
        // Exchange feeds' directories (instruments, tick sizes) on their way to exchange_instruments.
        let directory = context.database != nil && settings.feeds.contains { $0.format == .bistITCH } ? ExchangeDirectory() : nil
        // Exchange feeds' books publish their best levels here, for depth subscribers and the store.
        let depth = settings.feeds.contains { $0.format == .bistITCH && $0.exchange.depthLevels > 0 } ? DepthBoard(symbolCount: universe.count) : nil
        let storeSnapshots = SnapshotOutlet()
        let kafka = settings.settings(KafkaSettings.self)

        var checkpoints: [UInt16: UInt64] = [:]
        /// The stored ones alone, when they could be read.
        var storedCheckpoints: [UInt16: UInt64]?
        var writer: CopyBatchWriter?
        var maintenance: DatabaseMaintenance?
        if let database = context.database {
            let rules = StorageMaintenance(retentionDays: settings.store.retentionDays, compressAfterDays: settings.store.compressAfterDays)
            maintenance = DatabaseMaintenance(name: "storage maintenance", database: database, every: .seconds(3600)) { layout, first in
                // libpq blocks: off the cooperative pool, on NIO's thread pool for blocking work.
                do {
                    let report = try await NIOThreadPool.singleton.runIfActive {
                        try rules.run(on: LibpqConnection(conninfo: database.conninfo), layout: layout)
                    }
                    if report.changedSomething || first { log("database: \(report)") }
                } catch {
                    log("database: maintenance failed (retried in an hour): \(error)")
                }
            }
            if database.schema.layout != nil {
                do {
                    checkpoints = try CopyBatchWriter.checkpoints(LibpqConnection(conninfo: database.conninfo))
                    storedCheckpoints = checkpoints
                } catch {
                    log("database: cannot read the stored checkpoints (\(error)); the store sorts out what was stored before when it can")
                }
            }
            let w = try CopyBatchWriter(conninfo: database.conninfo, symbols: universe, schema: database.schema,
                                        options: Self.writerOptions(settings, depth: depth), candles: storeCandles, snapshots: storeSnapshots, log: log)
            // Batches an earlier run left in the spool are stored before anything new.
            checkpoints.merge(w.spool.recoveredHighest, uniquingKeysWith: max)
            writer = w
            if !checkpoints.isEmpty {
                log("database: resuming sequence tracking after " + checkpoints.sorted { $0.key < $1.key }.map { "feed \($0.key) at \($0.value)" }.joined(separator: ", "))
            }
        }
        let store = writer

        // With [kafka] brokers: a lane of its own to Kafka for the ticks, dropping when full (it
        // catches up from the store). Closed candles go as CandleClosed events, through the relay.
        var kafkaLane: (lane: ConsumerLane, consumer: KafkaMarketLane)?
        if kafka.enabled && kafka.marketLane {
            if let database = context.database {
                let lane = ConsumerLane(name: "kafka", capacity: kafka.marketLaneCapacity, policy: .drop,
                                        dropWatermark: DropWatermark(feeds: settings.feeds.map(\.id)))
                var options = KafkaMarketLane.Options()
                options.deliveryTimeoutNanos = kafka.deliveryTimeoutNanos
                options.lingerNanos = kafka.marketLaneLingerNanos
                options.compression = kafka.compression
                do {
                    let consumer = try KafkaMarketLane(brokers: kafka.brokers, lane: lane, symbols: universe,
                                                       feedNames: Dictionary(uniqueKeysWithValues: settings.feeds.map { ($0.id, $0.name) }),
                                                       conninfo: database.conninfo, startingAt: storedCheckpoints, storing: checkpoints, options: options,
                                                       storeIsBehind: { storeLane.ring.count > storeLane.ring.capacity / 4 }, log: log)
                    kafkaLane = (lane, consumer)
                } catch {
                    throw DaemonError("[kafka]: \(error)")
                }
            } else {
                log("kafka: no market lane without a database (it catches up from the stored ticks); events are not relayed either")
            }
        }
        let uring = IOUringSupport.probe()
        log("io_uring probe: best path \(uring.bestReceivePath.rawValue) (setup errno \(uring.setupErrno), buffer ring errno \(uring.bufferRingErrno), multishot errno \(uring.multishotErrno))")

        // Without a database the store lane ends in a counting consumer (it checksums what it receives).
        let counting = CountingConsumer(symbolCount: universe.count)
        var aggregation = AggregationStage.Options()
        aggregation.candles = settings.candles
        aggregation.calendar = settings.calendar
        aggregation.snapshotIntervalNanos = settings.snapshotIntervalNanos
        // Candle updates go to the fan-out, and to the store writer when there is one.
        let aggregator = AggregationStage(symbolCount: universe.count,
                                          outlets: (writer == nil ? [] : [storeCandles]) + [fanoutCandles],
                                          snapshots: writer == nil ? nil : storeSnapshots, options: aggregation,
                                          stored: writer?.storedStatistics, log: log)
        if let rebuilt = writer?.dayStatistics { log(rebuilt.description) }
        context.shared.offer(aggregator.latest)
        var fanoutOptions = FanoutHub.Options()
        fanoutOptions.maximumClients = settings.fanout.maximumClients
        fanoutOptions.clientQueueCapacity = settings.fanout.clientQueue
        let fanout = FanoutHub(symbols: universe, latest: aggregator.latest, calendar: settings.calendar, lane: fanoutLane, candles: fanoutCandles,
                               depth: depth,
                               options: fanoutOptions)
        // Socket feeds are spread over the reader threads in order; each reader has its own ring.
        let socketFeeds = settings.feeds.filter(\.format.isSocketFormat)
        let threads = min(settings.readerThreads, socketFeeds.count)
        var readers: [FeedReader] = []
        let pipelineDoorbell = Doorbell()
        for r in 0..<threads {
            let feeds = socketFeeds.enumerated().filter { $0.offset % threads == r }.map(\.element)
            let reader: FeedReader
            do {
                reader = try FeedReader(feeds: feeds, symbols: settings.symbols, options: settings.reader,
                                        ring: SPSCRing(minimumCapacity: settings.readerRingCapacity), doorbell: pipelineDoorbell, checkpoints: checkpoints,
                                        depth: depth, directory: directory, joining: settings.symbolsFromExchange ? universe : nil,
                                        log: log, announce: { fanout.announce($0) })
            } catch {
                throw DaemonError("cannot start the feed reader: \(error)")
            }
            readers.append(reader)
            for (i, feed) in feeds.enumerated() {
                let at = reader.boundAddresses[i].map { "listening on \($0)" } ?? "connecting to \(feed.address)"
                log("feed \(feed.name) (id \(feed.id), \(feed.format.rawValue)): \(at); reader \(r + 1) receives with \(reader.receivePath.summary)")
            }
        }
        listening = readers.flatMap { r in zip(r.feeds, r.boundAddresses).compactMap { f, a in a.map { "feed \(f.name) \($0)" } } }

        // Feeds a module reads itself (AlgoLab's WebSocket): a source and a service each.
        let feedSources = try context.shared.take(FeedSources.self, for: Self.name)
        var moduleFeeds: [FeedSources.Started] = []
        for feed in settings.feeds where !feed.format.isSocketFormat {
            moduleFeeds.append(try feedSources.start(.init(feed: feed, symbols: settings.symbols, ringCapacity: settings.readerRingCapacity,
                                                           doorbell: pipelineDoorbell, checkpoint: checkpoints[feed.id],
                                                           announce: { fanout.announce($0) })))
        }
        let sources: [any TickSource] = readers + moduleFeeds.map(\.source)
        let pipeline = Pipeline(readers: sources, lanes: [storeLane, fanoutLane] + (kafkaLane.map { [$0.lane] } ?? []), stages: [aggregator], checkpoints: checkpoints, log: log)

        MarketMetrics.register(in: context.metrics, readers: sources, pipeline: pipeline, aggregator: aggregator, writer: writer,
                               fanout: fanout, fanoutCandles: fanoutCandles)
        context.heartbeats.add("the pipeline thread") { pipeline.heartbeat.load(ordering: .relaxed) }
        for (r, reader) in readers.enumerated() {
            context.heartbeats.add("reader thread \(r + 1)") { reader.heartbeat.load(ordering: .relaxed) }
        }
        routes = MarketRoutes(parser: MarketQueryParser(symbols: universe), latest: aggregator.latest, calendar: settings.calendar, access: access)
        socket = MarketDataSocket(hub: fanout, gate: access)

        let report = Mutex(ServeReport(readers: sources, pipeline: pipeline, aggregator: aggregator, writer: writer))
        report.withLock { $0.start(now: Clock.monotonicNanos()) }
        let summary = PeriodicService(name: "summary", every: .nanoseconds(settings.statsIntervalNanos), last: {
            // Stopped after every thread of the module: the totals are final.
            let (feeds, total) = report.withLock { ($0.feedLines(), $0.summary()) }
            for line in feeds { log(line) }
            log("stopped: \(total)" + (store == nil ? "; store checksum \(counting.checksum.map { "\($0)" } ?? "none")" : ""))
        }) {
            if let line = report.withLock({ $0.periodicSummary(now: Clock.monotonicNanos()) }) { log(line) }
        }
        var services: [any Service] = [summary]
        if let directory, let database = context.database {
            // Stopped after the readers: what they posted last is stored too.
            let logger = context.logger
            let failing = Mutex(false)
            let storeDirectory: @Sendable () async -> Void = {
                let entries = directory.take()
                guard !entries.isEmpty else { return }
                do {
                    try await database.query { try await ExchangeInstruments.store(entries, on: $0, logger: logger) }
                    failing.withLock { $0 = false }
                    log("exchange directory: \(entries.count) instruments stored (exchange_instruments)")
                } catch {
                    directory.putBack(entries)
                    // Said once per outage; retried every second.
                    let saidBefore = failing.withLock { said in
                        let before = said
                        said = true
                        return before
                    }
                    if !saidBefore {
                        log("exchange directory: \(entries.count) instruments not stored yet (\(error)); retrying every second")
                    }
                }
            }
            services.append(PeriodicService(name: "exchange directory", every: .seconds(1), last: storeDirectory, tick: storeDirectory))
        }
        if let maintenance { services.append(maintenance) }
        services.append(ThreadService(name: "akis-fanout", afterEnd: {
            // The fan-out has queued the last candles and ended every client's queue; the clients
            // get a moment to take the rest and the close before the HTTP server (and their
            // sockets) go.
            let deadline = ContinuousClock.now + .seconds(5)
            while fanout.clientsConnected.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            if case let left = fanout.clientsConnected.load(ordering: .relaxed), left > 0 {
                log("fanout: \(left) WebSocket clients had not taken their last messages after 5 s; closing them")
            }
        }) { fanoutLane.run(fanout) })
        if let kafkaLane {
            MarketMetrics.register(in: context.metrics, kafka: kafkaLane.consumer)
            services.append(ThreadService(name: "akis-kafka") { kafkaLane.lane.run(kafkaLane.consumer) })
        }
        services.append(ThreadService(name: "akis-store") { if let store { storeLane.run(store) } else { storeLane.run(counting) } })
        services.append(ThreadService(name: "akis-pipeline") { pipeline.run() })
        for (r, reader) in readers.enumerated() {
            let stopReader = ManagedAtomic<Bool>(false)
            services.append(ThreadService(name: "akis-reader-\(r + 1)", stop: { stopReader.store(true, ordering: .releasing) }) {
                try reader.run(stop: stopReader)
            })
        }
        services += moduleFeeds.map(\.service)
        self.services = services
    }

    func addRoutes(to router: Router<DaemonRequestContext>) {
        routes.register(on: router)
        socket.register(on: router)
    }

    func serving(at httpAddress: String) -> [String] {
        ["http: latest prices at http://\(httpAddress)/api/market/latest, live ticks and candles at ws://\(httpAddress)\(MarketDataSocket.path)"]
    }

    private static func writerOptions(_ settings: AkisConfiguration, depth: DepthBoard?) -> CopyBatchWriter.Options {
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
        // One MarketDataReceived per stored batch, committed with it (the events module's schema).
        let feedNames = Dictionary(uniqueKeysWithValues: settings.feeds.map { ($0.id, $0.name) })
        options.events = { [OutboxEvent(MarketProducers.dataReceived($0, feedNames: feedNames))] }
        options.depth = depth
        return options
    }
}

extension DaemonRequestContext: ConnectionRequestContext {}
