import Aggregator
import Fanout
import Ingest
import Prometheus
import Store
import Synchronization

/// The daemon's Prometheus metrics. The threads count in their own atomics (no metrics call on
/// the hot path); a scrape copies those counters into the registry and renders it.
final class ServeMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    /// Each exported counter, where its value comes from, and what was exported last.
    private let counters: Mutex<[(counter: Counter, read: @Sendable () -> UInt64, exported: UInt64)]>
    /// Gauges set from their source at each scrape.
    private let gauges: [(gauge: Gauge, read: @Sendable () -> Double)]

    init(readers: [FeedReader], pipeline: Pipeline, aggregator: AggregationStage, writer: CopyBatchWriter?, fanout: FanoutHub, fanoutCandles: CandleOutlet) {
        let registry = PrometheusCollectorRegistry()
        var list: [(Counter, @Sendable () -> UInt64, UInt64)] = []
        func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ read: @escaping @Sendable () -> UInt64) {
            // Names are given without the "akis_" namespace and "_total" unit.
            let descriptor = MetricNameDescriptor(namespace: "akis", metricName: name, unitName: "total", helpText: help)
            list.append((registry.makeCounter(descriptor: descriptor, labels: labels), read, 0))
        }
        var gaugeList: [(Gauge, @Sendable () -> Double)] = []
        func gauge(_ name: String, _ unit: String, _ help: String, _ read: @escaping @Sendable () -> Double) {
            let descriptor = MetricNameDescriptor(namespace: "akis", metricName: name, unitName: unit, helpText: help)
            gaugeList.append((registry.makeGauge(descriptor: descriptor, labels: []), read))
        }
        var index = 0
        for (r, reader) in readers.enumerated() {
            let readerLabel = [("reader", "\(r + 1)")]
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "akis", metricName: "reader_receive_path", unitName: "info",
                                                                helpText: "The receive path each reader thread uses (value 1)"),
                               labels: readerLabel + [("path", reader.receivePath.rawValue)]).set(to: 1.0)
            counter("reader_ring_full_waits", "Times a reader found its ring to the pipeline full and waited", readerLabel) {
                reader.ringFullWaits.load(ordering: .relaxed)
            }
            for (feed, c) in zip(reader.feeds, reader.counters) {
                let l = [("feed", feed.name)]
                counter("feed_bytes", "Bytes received per feed", l) { c.bytes.load(ordering: .relaxed) }
                counter("feed_ticks", "Ticks decoded per feed", l) { c.ticks.load(ordering: .relaxed) }
                for kind in FrameErrorKind.allCases {
                    counter("feed_rejected", "Frames rejected per feed and reason", l + [("reason", "\(kind)")]) { c[kind] }
                }
                counter("feed_connections", "Connections opened per feed", l) { c.connections.load(ordering: .relaxed) }
                counter("feed_disconnects", "Connections that ended per feed", l) { c.disconnects.load(ordering: .relaxed) }
                counter("feed_connect_failures", "Failed connect attempts per feed", l) { c.connectFailures.load(ordering: .relaxed) }
                counter("feed_kernel_drops", "UDP datagrams the kernel dropped (receive buffer full)", l) {
                    c.kernelDrops.load(ordering: .relaxed)
                }
                let s = pipeline.sequenceCounters[index]
                index += 1
                counter("sequence_gaps", "Jumps in a feed's sequence numbers", l) { s.gaps.load(ordering: .relaxed) }
                counter("sequence_missing", "Sequence numbers reported missing by gaps", l) { s.missing.load(ordering: .relaxed) }
                counter("sequence_filled", "Missing sequence numbers that arrived late", l) { s.filled.load(ordering: .relaxed) }
                counter("sequence_duplicates", "Ticks dropped as duplicates", l) { s.duplicates.load(ordering: .relaxed) }
            }
        }
        counter("pipeline_received", "Ticks the pipeline took from the readers", []) { pipeline.received.load(ordering: .relaxed) }
        counter("pipeline_accepted", "Ticks the pipeline passed on (not duplicates)", []) { pipeline.accepted.load(ordering: .relaxed) }
        for lane in pipeline.lanes {
            let l = [("lane", lane.name)]
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "akis", metricName: "lane_blocks_when_full", unitName: "",
                                                                helpText: "1 when the lane blocks when full, 0 when it drops"),
                               labels: l).set(to: lane.policy == .block ? 1.0 : 0.0)
            counter("lane_delivered", "Ticks handed to a consumer lane", l) { lane.delivered.load(ordering: .relaxed) }
            counter("lane_dropped", "Ticks dropped because a lane was full", l) { lane.dropped.load(ordering: .relaxed) }
            counter("lane_full_waits", "Times the pipeline waited for room in a lane", l) { lane.fullWaits.load(ordering: .relaxed) }
        }
        counter("candles_closed", "1-minute candles closed by the aggregator", []) { aggregator.candlesClosed.load(ordering: .relaxed) }
        counter("candles_corrected", "Closed candles corrected by a late trade", []) { aggregator.candlesCorrected.load(ordering: .relaxed) }
        counter("late_trades", "Trades too late to correct their candle in memory (rebuilt from storage)", []) {
            aggregator.lateTrades.load(ordering: .relaxed)
        }
        counter("previous_day_trades", "Trades of an earlier trading day (left out of the daily statistics)", []) {
            aggregator.previousDayTrades.load(ordering: .relaxed)
        }
        gauge("fanout_clients", "", "WebSocket clients connected to /ws/market-data") { Double(fanout.clientsConnected.load(ordering: .relaxed)) }
        counter("fanout_clients_refused", "WebSocket connections refused (fanout.max_clients reached)", []) { fanout.clientsRefused.load(ordering: .relaxed) }
        counter("fanout_slow_clients", "WebSocket clients disconnected for falling fanout.client_queue messages behind", []) {
            fanout.slowClients.load(ordering: .relaxed)
        }
        counter("fanout_messages", "Messages queued to WebSocket clients (one per client per message)", []) { fanout.messagesQueued.load(ordering: .relaxed) }
        counter("fanout_candles", "Candle messages the fan-out sent out (once per candle, to every subscriber)", []) {
            fanout.candlesSent.load(ordering: .relaxed)
        }
        counter("fanout_candles_dropped", "Candle updates dropped because the fan-out's candle ring was full", []) {
            fanoutCandles.dropped.load(ordering: .relaxed)
        }
        if let writer {
            counter("store_candles_upserted", "Candles stored as the aggregator computed them", []) { writer.candlesUpserted.load(ordering: .relaxed) }
            counter("store_candles_rebuilt", "Candles rebuilt from the stored trades (late trades, restarts, spooled batches)", []) {
                writer.candlesRebuilt.load(ordering: .relaxed)
            }
            counter("store_snapshots", "Top-of-book snapshots stored in order_book_snapshots", []) { writer.snapshotsStored.load(ordering: .relaxed) }
            counter("store_snapshots_lost", "Top-of-book snapshots the schema refused (each logged)", []) {
                writer.snapshotsLost.load(ordering: .relaxed)
            }
            counter("store_ticks", "Ticks committed to market_ticks", []) { writer.storedTicks.load(ordering: .relaxed) }
            counter("store_batches", "COPY batches committed", []) { writer.committedBatches.load(ordering: .relaxed) }
            counter("store_failed_attempts", "Batch attempts that failed and were retried", []) { writer.failedAttempts.load(ordering: .relaxed) }
            counter("store_rejected_rows", "Rows the schema refused (each logged with feed, sequence and reason)", []) {
                writer.rejectedRows.load(ordering: .relaxed)
            }
            counter("store_spooled_batches", "Batches written to the spool", []) { writer.spooledBatches.load(ordering: .relaxed) }
            counter("store_spool_unreadable_batches", "Spooled batches that could not be read back (segment kept as *.corrupt)", []) {
                writer.unreadableBatches.load(ordering: .relaxed)
            }
            gauge("store_spool", "bytes", "Bytes of spool segment files on disk") { Double(writer.spool.bytes) }
            gauge("store_spool_batches", "", "Batches waiting in the spool") { Double(writer.spool.count) }
            gauge("store_spool_alarm", "", "1 while the spool refuses batches (full or failing) and the store lane is held") {
                writer.spoolAlarm.load(ordering: .relaxed) ? 1 : 0
            }
        }
        self.registry = registry
        gauges = gaugeList
        counters = Mutex(list.map { (counter: $0.0, read: $0.1, exported: $0.2) })
    }

    /// The Prometheus text exposition of every metric, current as of this call.
    func render() -> [UInt8] {
        counters.withLock { list in
            for i in list.indices {
                let now = list[i].read()
                if now > list[i].exported {
                    list[i].counter.increment(by: Int64(now - list[i].exported))
                    list[i].exported = now
                }
            }
        }
        for (gauge, read) in gauges { gauge.set(to: read()) }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
