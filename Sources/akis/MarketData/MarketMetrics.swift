import Aggregator
import Atomics
import Daemon
import Events
import Fanout
import Ingest
import Store

/// The market data's Prometheus metrics: where each value is read from (the threads' own
/// atomics), registered in the daemon's registry.
enum MarketMetrics {
    static func register(in metrics: DaemonMetrics, readers: [any TickSource], pipeline: Pipeline, aggregator: AggregationStage,
                         writer: CopyBatchWriter?, fanout: FanoutHub, fanoutCandles: CandleOutlet) {
        var index = 0
        for (r, reader) in readers.enumerated() {
            let readerStart = index
            let readerLabel = [("reader", "\(r + 1)")]
            metrics.constant("reader_receive_path", unit: "info", "The receive path each reader thread uses (value 1)",
                             labels: readerLabel + [("path", reader.receiveDescription)], value: 1)
            metrics.counter("reader_ring_full_waits", "Times a reader found its ring to the pipeline full and waited", labels: readerLabel) {
                reader.ringFullWaits.load(ordering: .relaxed)
            }
            for (feed, c) in zip(reader.feeds, reader.counters) {
                let l = [("feed", feed.name)]
                metrics.counter("feed_bytes", "Bytes received per feed", labels: l) { c.bytes.load(ordering: .relaxed) }
                metrics.counter("feed_ticks", "Ticks decoded per feed", labels: l) { c.ticks.load(ordering: .relaxed) }
                for kind in FrameErrorKind.allCases {
                    metrics.counter("feed_rejected", "Frames rejected per feed and reason", labels: l + [("reason", "\(kind)")]) { c[kind] }
                }
                metrics.counter("feed_connections", "Connections opened per feed", labels: l) { c.connections.load(ordering: .relaxed) }
                metrics.counter("feed_disconnects", "Connections that ended per feed", labels: l) { c.disconnects.load(ordering: .relaxed) }
                metrics.counter("feed_possible_gaps", "Reconnects after which ticks may be missing (feeds without sequence numbers)", labels: l) {
                    c.possibleGaps.load(ordering: .relaxed)
                }
                metrics.counter("feed_connect_failures", "Failed connect attempts per feed", labels: l) { c.connectFailures.load(ordering: .relaxed) }
                metrics.counter("feed_kernel_drops", "UDP datagrams the kernel dropped (receive buffer full)", labels: l) {
                    c.kernelDrops.load(ordering: .relaxed)
                }
                if let x = (reader as? FeedReader)?.exchangeCounters[index - readerStart] { registerExchange(in: metrics, labels: l, x) }
                let s = pipeline.sequenceCounters[index]
                index += 1
                metrics.counter("sequence_gaps", "Jumps in a feed's sequence numbers", labels: l) { s.gaps.load(ordering: .relaxed) }
                metrics.counter("sequence_missing", "Sequence numbers reported missing by gaps", labels: l) { s.missing.load(ordering: .relaxed) }
                metrics.counter("sequence_filled", "Missing sequence numbers that arrived late", labels: l) { s.filled.load(ordering: .relaxed) }
                metrics.counter("sequence_duplicates", "Ticks dropped as duplicates", labels: l) { s.duplicates.load(ordering: .relaxed) }
            }
        }
        metrics.counter("pipeline_received", "Ticks the pipeline took from the readers") { pipeline.received.load(ordering: .relaxed) }
        metrics.counter("pipeline_accepted", "Ticks the pipeline passed on (not duplicates)") { pipeline.accepted.load(ordering: .relaxed) }
        for lane in pipeline.lanes {
            let l = [("lane", lane.name)]
            metrics.constant("lane_blocks_when_full", "1 when the lane blocks when full, 0 when it drops", labels: l,
                             value: lane.policy == .block ? 1 : 0)
            metrics.counter("lane_delivered", "Ticks handed to a consumer lane", labels: l) { lane.delivered.load(ordering: .relaxed) }
            metrics.counter("lane_dropped", "Ticks dropped because a lane was full", labels: l) { lane.dropped.load(ordering: .relaxed) }
            metrics.counter("lane_full_waits", "Times the pipeline waited for room in a lane", labels: l) { lane.fullWaits.load(ordering: .relaxed) }
        }
        metrics.counter("candles_closed", "1-minute candles closed by the aggregator") { aggregator.candlesClosed.load(ordering: .relaxed) }
        metrics.counter("candles_corrected", "Closed candles corrected by a late trade") { aggregator.candlesCorrected.load(ordering: .relaxed) }
        metrics.counter("late_trades", "Trades too late to correct their candle in memory (rebuilt from storage)") {
            aggregator.lateTrades.load(ordering: .relaxed)
        }
        metrics.counter("previous_day_trades", "Trades of an earlier trading day (left out of the daily statistics)") {
            aggregator.previousDayTrades.load(ordering: .relaxed)
        }
        metrics.gauge("fanout_clients", "WebSocket clients connected to /ws/market-data") { Double(fanout.clientsConnected.load(ordering: .relaxed)) }
        metrics.counter("fanout_clients_refused", "WebSocket connections refused (fanout.max_clients reached)") { fanout.clientsRefused.load(ordering: .relaxed) }
        metrics.counter("fanout_slow_clients", "WebSocket clients disconnected for falling fanout.client_queue messages behind") {
            fanout.slowClients.load(ordering: .relaxed)
        }
        metrics.counter("fanout_messages", "Messages queued to WebSocket clients (one per client per message)") { fanout.messagesQueued.load(ordering: .relaxed) }
        metrics.counter("fanout_candles", "Candle messages the fan-out sent out (once per candle, to every subscriber)") {
            fanout.candlesSent.load(ordering: .relaxed)
        }
        metrics.counter("fanout_candles_dropped", "Candle updates dropped because the fan-out's candle ring was full") {
            fanoutCandles.dropped.load(ordering: .relaxed)
        }
        if let writer {
            metrics.counter("store_candles_upserted", "Candles stored as the aggregator computed them") { writer.candlesUpserted.load(ordering: .relaxed) }
            metrics.counter("store_candles_rebuilt", "Candles rebuilt from the stored trades (late trades, restarts, spooled batches)") {
                writer.candlesRebuilt.load(ordering: .relaxed)
            }
            metrics.counter("store_snapshots", "Top-of-book snapshots stored in order_book_snapshots") { writer.snapshotsStored.load(ordering: .relaxed) }
            metrics.counter("store_snapshots_lost", "Top-of-book snapshots the schema refused (each logged)") {
                writer.snapshotsLost.load(ordering: .relaxed)
            }
            metrics.counter("store_ticks", "Ticks committed to market_ticks") { writer.storedTicks.load(ordering: .relaxed) }
            metrics.counter("store_batches", "COPY batches committed") { writer.committedBatches.load(ordering: .relaxed) }
            metrics.counter("store_failed_attempts", "Batch attempts that failed and were retried") { writer.failedAttempts.load(ordering: .relaxed) }
            metrics.counter("store_rejected_rows", "Rows the schema refused (each logged with feed, sequence and reason)") {
                writer.rejectedRows.load(ordering: .relaxed)
            }
            metrics.counter("store_spooled_batches", "Batches written to the spool") { writer.spooledBatches.load(ordering: .relaxed) }
            metrics.counter("store_already_stored", "Ticks of a run started without its database that an earlier run had stored (not stored again)") {
                writer.alreadyStored.load(ordering: .relaxed)
            }
            metrics.counter("store_spool_unreadable_batches", "Spooled batches that could not be read back (segment kept as *.corrupt)") {
                writer.unreadableBatches.load(ordering: .relaxed)
            }
            metrics.gauge("store_spool", unit: "bytes", "Bytes of spool segment files on disk") { Double(writer.spool.bytes) }
            metrics.gauge("store_spool_batches", "Batches waiting in the spool") { Double(writer.spool.count) }
            metrics.gauge("store_spool_alarm", "1 while the spool refuses batches (full or failing) and the store lane is held") {
                writer.spoolAlarm.load(ordering: .relaxed) ? 1 : 0
            }
        }
    }

    /// The Kafka market lane's counters (the lane's own are with the other lanes').
    static func register(in metrics: DaemonMetrics, kafka lane: KafkaMarketLane) {
        metrics.counter("kafka_market_delivered", "Ticks the Kafka market lane delivered (acknowledged by the brokers)") {
            lane.delivered.load(ordering: .relaxed)
        }
        metrics.counter("kafka_market_caught_up", "Ticks the Kafka market lane sent from the store while catching up") { lane.caughtUp.load(ordering: .relaxed) }
        metrics.counter("kafka_market_fell_behind", "Times the Kafka market lane fell behind (ring or producer queue full, a failed delivery)") {
            lane.fellBehind.load(ordering: .relaxed)
        }
        metrics.counter("kafka_market_catch_up_deferred", "Times the Kafka market lane put a catch-up read off because the writer had a backlog") {
            lane.catchUpsDeferred.load(ordering: .relaxed)
        }
        metrics.counter("kafka_market_failed", "Messages librdkafka reported failed on the market lane (ticks are sent again from the store)") {
            lane.failed.load(ordering: .relaxed)
        }
        metrics.gauge("kafka_market_catching_up", "1 while the Kafka market lane catches up from the stored ticks") {
            lane.catchingUp.load(ordering: .relaxed) ? 1 : 0
        }
    }

    /// An exchange feed's MoldUDP64 receiver, recovery budget and books.
    private static func registerExchange(in metrics: DaemonMetrics, labels l: [(String, String)], _ x: ExchangeFeedCounters) {
        metrics.counter("feed_moldudp64_packets", "MoldUDP64 packets taken per exchange feed (rewinder answers included)", labels: l) { x.packets.load(ordering: .relaxed) }
        metrics.counter("feed_moldudp64_heartbeats", "MoldUDP64 heartbeats per exchange feed", labels: l) { x.heartbeats.load(ordering: .relaxed) }
        metrics.counter("feed_exchange_messages", "Exchange messages delivered in sequence order per feed", labels: l) { x.messages.load(ordering: .relaxed) }
        metrics.counter("feed_exchange_duplicates", "Exchange messages received twice (dropped)", labels: l) { x.duplicates.load(ordering: .relaxed) }
        metrics.counter("feed_exchange_gaps", "Jumps in an exchange feed's message sequence", labels: l) { x.gaps.load(ordering: .relaxed) }
        metrics.counter("feed_recovery_requests", "Retransmission requests sent to the rewinder", labels: l) { x.recoveryRequests.load(ordering: .relaxed) }
        metrics.counter("feed_recovered_messages", "Missing messages recovered (from the rewinder or late)", labels: l) { x.recoveredMessages.load(ordering: .relaxed) }
        metrics.counter("feed_lost_messages", "Missing messages given up (budget spent, rewinder silent, none configured)", labels: l) {
            x.lostMessages.load(ordering: .relaxed)
        }
        metrics.gauge("feed_recovery_requests_left", "Retransmission requests left in the session's budget", labels: l) { Double(x.requestsLeft.load(ordering: .relaxed)) }
        metrics.gauge("feed_stale_instruments", "Instruments whose books are stale (messages lost) until the next session", labels: l) {
            Double(x.staleInstruments.load(ordering: .relaxed))
        }
        metrics.counter("feed_exchange_sessions", "MoldUDP64 sessions seen", labels: l) { x.sessions.load(ordering: .relaxed) }
        metrics.counter("feed_book_rejects", "Order messages the books could not take (unknown order, more shares than rest)", labels: l) {
            x.bookRejects.load(ordering: .relaxed)
        }
    }
}
