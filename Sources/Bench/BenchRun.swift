import Foundation
import Ingest
import Synchronization

/// One bench run against a running daemon: subscribes the clients, sends the feed on its
/// schedule, watches delivery and storage, and gathers the result.
public struct BenchRun {
    /// Where the daemon is and what the bench knows about it.
    public struct Target: Sendable {
        public var feed: FeedAddress
        public var httpHost: String
        public var httpPort: UInt16
        /// The daemon's process, when it runs on this machine and is known (CPU and memory).
        public var pid: Int32?
        public var description: String
        /// `true` when the daemon stores ticks (a database is configured).
        public var storing: Bool
        /// Counts the `market_ticks` rows with sequence numbers in a range, when the bench owns the database.
        public var countRows: (@Sendable (ClosedRange<UInt64>) throws -> UInt64)?
        /// `.redis`: the baseline, a Redis server at `feed` and `httpHost:httpPort` (no metrics).
        public var subscribers = SubscriberProtocol.webSocket

        public init(feed: FeedAddress, httpHost: String, httpPort: UInt16, pid: Int32?, description: String, storing: Bool,
                    countRows: (@Sendable (ClosedRange<UInt64>) throws -> UInt64)? = nil) {
            self.feed = feed
            self.httpHost = httpHost
            self.httpPort = httpPort
            self.pid = pid
            self.description = description
            self.storing = storing
            self.countRows = countRows
        }
    }

    public struct Options: Sendable {
        public var mix: SubscriptionMix
        public var clientThreads = 2
        /// After the last tick is sent: how long to wait for deliveries and commits to stop moving.
        public var settleSeconds: Double = 10
        public var storagePollMillis = 50
        public var command = "akis bench"
        public var source = "synthetic"
        /// Polled while the run goes on: true ends it early (Ctrl-C), with a report of what was sent.
        public var interrupted: @Sendable () -> Bool = { false }

        public init(mix: SubscriptionMix) { self.mix = mix }
    }

    public let feed: BenchFeed
    public let target: Target
    public let options: Options
    /// Progress lines (one a second) and notes.
    public let log: @Sendable (String) -> Void

    public init(feed: BenchFeed, target: Target, options: Options, log: @escaping @Sendable (String) -> Void) {
        self.feed = feed
        self.target = target
        self.options = options
        self.log = log
    }

    public func run() throws -> BenchResult {
        let startedAt = UTCTime.formatISO8601(Clock.wallNanos())
        let clock = BenchClock()
        let metricsBefore = try scrape()
        // A daemon without a database has no store counters (a running one may have none).
        let storing = target.storing && metricsBefore.sums["akis_store_ticks_total"] != nil
        let redis = target.subscribers == .redis
        log("connecting \(options.mix.clients.count) \(redis ? "Redis subscribers to \(target.httpHost):\(target.httpPort)" : "WebSocket clients to ws://\(target.httpHost):\(target.httpPort)/ws/market-data")")
        let clients = try LoadClients(host: target.httpHost, port: Int(target.httpPort), protocol: target.subscribers, mix: options.mix, feed: feed,
                                      clock: clock, threads: options.clientThreads)
        defer { clients.shutdown() }
        let socket: Socket
        do { socket = try Socket.connect(to: target.feed) } catch { throw BenchError("cannot connect to the daemon's feed at \(target.feed): \(error)") }

        let sender = redis ? OpenLoopSender(feed: feed, encode: OpenLoopSender.redisPublish) : OpenLoopSender(feed: feed)
        // Redis answers every PUBLISH: read the answers, or it stops reading the commands.
        let replies = redis ? ReplyDrain(socket) : nil
        var expected = options.mix.clients.reduce(UInt64(0)) { $0 + UInt64(feed.expectedTicks(for: $1)) }
        let daemonBefore = target.pid.flatMap { ProcessUsage.read(pid: $0) }
        let benchBefore = ProcessUsage.read(pid: nil)
        let start = Clock.monotonicNanos() + 200_000_000
        let outcome = SenderThread(sender: sender, socket: socket, start: start, clock: clock, stop: options.interrupted)
        log(String(format: "sending %@ ticks over %.1f s (%@ ticks/s offered); expecting %@ tick messages across the clients",
                   grouped(UInt64(feed.ticks.count)), Double(feed.spanNanos) / 1e9, grouped(UInt64(offeredRate)), grouped(expected)))

        // Watch: commits every poll (for the storage lag), a progress line every second.
        var commits: [(mono: Int64, committed: UInt64)] = []
        let storedBefore = UInt64(metricsBefore["akis_store_ticks_total"])
        var timeline: [BenchResult.Second] = []
        var peakSpool = 0.0
        var lastChange = Clock.monotonicNanos()
        var lastSeen: (UInt64, UInt64) = (0, 0)
        var nextSecond = start + 1_000_000_000
        var committed: UInt64 = 0
        var senderDoneAt: Int64?
        while true {
            usleep(UInt32(options.storagePollMillis * 1000))
            if storing, let m = try? scrape() {
                committed = UInt64(max(0, m["akis_store_ticks_total"] - Double(storedBefore)))
                peakSpool = max(peakSpool, m["akis_store_spool_batches"])
                // Seen committed by now at the latest (the scrape's answer may have taken a while).
                if commits.last?.committed != committed { commits.append((Clock.monotonicNanos(), committed)) }
            }
            let now = Clock.monotonicNanos()
            var sent = sender.sent.load(ordering: .relaxed)
            let delivered = clients.ticksReceived
            if (sent, delivered) != lastSeen || committed != (commits.last?.committed ?? 0) { lastChange = now }
            if (sent, delivered) != lastSeen { lastSeen = (sent, delivered) }
            if now >= nextSecond {
                nextSecond += 1_000_000_000
                let second = timeline.count + 1
                let rss = target.pid.flatMap { ProcessUsage.read(pid: $0) }?.residentBytes
                let previous = timeline.last
                timeline.append(.init(second: second, sent: sent, delivered: delivered, committed: storing ? committed : nil, daemonResidentBytes: rss))
                var line = "bench: \(second) s: sent \(grouped(sent)) (\(grouped(sent - (previous?.sent ?? 0)))/s), delivered \(grouped(delivered)) of \(grouped(expected)) (\(grouped(delivered - (previous?.delivered ?? 0)))/s)"
                if storing { line += ", committed \(grouped(committed))" }
                if let rss { line += ", daemon RSS \(rss >> 20) MiB" }
                line += ", \(clients.connected) clients connected"
                log(line)
            }
            if senderDoneAt == nil, outcome.finished {
                senderDoneAt = now
                sent = sender.sent.load(ordering: .relaxed)  // its last count, set before it finished
                if sent < UInt64(feed.ticks.count) {
                    // Stopped early (interrupted): what the clients should get of the ticks sent.
                    log("bench: interrupted after \(grouped(sent)) ticks; waiting for them to be delivered\(storing ? " and committed" : "") (Ctrl-C again to quit at once)")
                    let sentTicks = feed.sent(Int(sent))
                    expected = options.mix.clients.reduce(UInt64(0)) { $0 + sentTicks.expected(for: $1) }
                }
            }
            guard let doneAt = senderDoneAt else { continue }
            let allIn = delivered >= expected && (!storing || committed >= sent)
            if allIn { break }
            let settle = Int64((options.interrupted() ? min(5, options.settleSeconds) : options.settleSeconds) * 1e9)
            if now - lastChange > settle && now - doneAt > settle {
                log("bench: nothing moved for \(options.settleSeconds) s after the last tick was sent; stopping the wait")
                break
            }
        }
        let end = Clock.monotonicNanos()
        // The run ended between two seconds: the timeline ends where things stood then.
        let final = (sender.sent.load(ordering: .relaxed), clients.ticksReceived)
        if let last = timeline.last, (last.sent, last.delivered) != final || (storing && last.committed != committed) {
            timeline.append(.init(second: last.second + 1, sent: final.0, delivered: final.1, committed: storing ? committed : nil,
                                  daemonResidentBytes: target.pid.flatMap { ProcessUsage.read(pid: $0) }?.residentBytes))
        }
        let catchUp = Double(end - (senderDoneAt ?? end)) / 1e9
        let report = try outcome.result()
        socket.shutdownWrite()
        replies?.wait()
        let metricsAfter = try scrape()
        let daemonAfter = target.pid.flatMap { ProcessUsage.read(pid: $0) }
        let benchAfter = ProcessUsage.read(pid: nil)
        let outcomes = try clients.outcomes()
        let seconds = Double(end - start) / 1e9

        // Per group, against what was sent (all of it unless interrupted).
        let sentTicks = feed.sent(Int(min(report.ticks, UInt64(feed.ticks.count))))
        var groups: [BenchResult.Group] = []
        var perClient: [BenchResult.Client] = []
        var all = LatencyHistogram()
        var failures: [String] = []
        var deliveredTotal: UInt64 = 0
        for g in options.mix.groups {
            var latency = LatencyHistogram()
            var group = BenchResult.Group(name: g.name, clients: g.members.count, expectedTicks: 0, deliveredTicks: 0, candles: 0, gaps: 0,
                                          missingInGaps: 0, missingAtEnd: 0, outOfOrder: 0, unexpected: 0, closed: [], errors: [],
                                          latency: LatencyHistogram().summary, worstClientP99: 0, curve: [])
            for i in g.members {
                let o = outcomes[i]
                group.expectedTicks += sentTicks.expected(for: o.subscription)
                group.deliveredTicks += o.tally.ticks
                group.candles += o.tally.candles
                group.gaps += o.tally.gaps
                group.missingInGaps += o.tally.missingInGaps
                group.missingAtEnd += o.tally.missingAtEnd(subscription: o.subscription, feed: feed, sent: sentTicks)
                group.outOfOrder += o.tally.outOfOrder
                group.unexpected += o.tally.unexpected
                var closed: String?
                if let code = o.closeCode { closed = "closed by the server, \(code) \(o.closeReason ?? "")" }
                if let failure = o.failure { closed = failure }
                if let closed { group.closed.append("client \(i + 1): \(closed)") }
                perClient.append(.init(client: i + 1, group: g.name, symbols: o.subscription.map { feed.symbols.name(of: $0) },
                                       expectedTicks: sentTicks.expected(for: o.subscription), deliveredTicks: o.tally.ticks,
                                       gaps: o.tally.gaps, latency: o.tally.latency.summary, closed: closed))
                group.errors += o.tally.errors.map { "client \(i + 1): \($0)" }
                latency.add(o.tally.latency)
                group.worstClientP99 = max(group.worstClientP99, o.tally.latency.summary.p99)
            }
            group.latency = latency.summary
            group.curve = latency.percentileCurve().map { .init(percentile: $0.percentile, nanos: $0.nanos) }
            all.add(latency)
            deliveredTotal += group.deliveredTicks
            if group.deliveredTicks != group.expectedTicks {
                failures.append("\(g.name): \(grouped(group.deliveredTicks)) of \(grouped(group.expectedTicks)) ticks delivered")
            }
            if group.gaps + group.outOfOrder + group.unexpected > 0 {
                failures.append("\(g.name): \(group.gaps) gaps, \(group.outOfOrder) out of order, \(group.unexpected) unexpected")
            }
            if !group.closed.isEmpty { failures.append("\(g.name): \(group.closed.count) clients lost their connection") }
            groups.append(group)
        }

        func delta(_ name: String) -> UInt64 { UInt64(max(0, metricsAfter[name] - metricsBefore[name])) }
        func deltaSample(_ key: String) -> UInt64 { UInt64(max(0, (metricsAfter.samples[key] ?? 0) - (metricsBefore.samples[key] ?? 0))) }
        let sentTotal = report.ticks
        if sentTotal != UInt64(feed.ticks.count) {
            failures.append(options.interrupted() ? "interrupted after \(grouped(sentTotal)) of \(grouped(UInt64(feed.ticks.count))) ticks" : "sent \(sentTotal) of \(feed.ticks.count) ticks")
        }
        var drops: [String: UInt64] = [
            "tick messages not delivered": groups.reduce(0) { $0 + ($1.expectedTicks > $1.deliveredTicks ? $1.expectedTicks - $1.deliveredTicks : 0) },
        ]
        if !redis {
            drops["rejected by the feed reader"] = delta("akis_feed_rejected_total")
            drops["dropped as duplicate sequence numbers"] = delta("akis_sequence_duplicates_total")
            drops["dropped by the fan-out lane (full)"] = deltaSample("akis_lane_dropped_total{lane=\"fanout\"}")
            drops["clients cut off as slow consumers"] = delta("akis_fanout_slow_clients_total")
            drops["clients refused (client limit)"] = delta("akis_fanout_clients_refused_total")
            let received = delta("akis_pipeline_received_total")
            drops["not received by the daemon's pipeline"] = sentTotal > received ? sentTotal - received : 0
        }

        var storage: BenchResult.Storage?
        if storing {
            drops["dropped by the store lane (full)"] = deltaSample("akis_lane_dropped_total{lane=\"store\"}")
            drops["rows rejected by PostgreSQL"] = delta("akis_store_rejected_rows_total")
            drops["not committed"] = sentTotal > committed ? sentTotal - committed : 0
            var lag = LatencyHistogram()
            var c = 0
            for (i, tick) in feed.ticks.enumerated().prefix(Int(min(committed, UInt64(feed.ticks.count)))) {
                while c < commits.count && commits[c].committed <= UInt64(i) { c += 1 }
                guard c < commits.count else { break }
                lag.record(nanos: commits[c].mono - (start + tick.exchangeTime))
            }
            var rows: UInt64?
            if let count = target.countRows {
                let sequences = feed.firstSequence...(feed.firstSequence + UInt64(max(1, feed.ticks.count)) - 1)
                do { rows = try count(sequences) } catch { log("bench: cannot count the stored rows: \(error)") }
            }
            storage = .init(sent: sentTotal, committed: committed, rows: rows, lag: lag.summary, pollMillis: options.storagePollMillis, peakSpoolBatches: peakSpool)
            if committed < sentTotal { failures.append("\(grouped(committed)) of \(grouped(sentTotal)) ticks committed") }
            if let rows, rows != sentTotal { failures.append("\(grouped(rows)) rows in market_ticks for \(grouped(sentTotal)) ticks sent") }
        }
        for (reason, n) in drops.sorted(by: { $0.key < $1.key }) where n > 0 && reason != "tick messages not delivered" && reason != "not committed" {
            failures.append("\(reason): \(grouped(n))")
        }

        let span = Double(feed.spanNanos) / 1e9
        return BenchResult(
            startedAt: startedAt, command: options.command, daemon: target.description, storeMode: storing ? "PostgreSQL" : redis ? "none (pub/sub)" : "none (counting sink)",
            feed: .init(source: options.source, symbols: feed.symbols.count, ticks: feed.ticks.count, offeredRate: offeredRate, scheduleSeconds: span),
            sender: .init(ticks: report.ticks, bytes: report.bytes,
                          achievedRate: Double(report.ticks) / max(1e-9, Double(report.endMonotonic - report.startMonotonic) / 1e9),
                          lateness: report.lateness.summary),
            groups: groups, clients: perClient, all: all.summary, drops: drops, storage: storage,
            daemonCPU: daemonAfter.flatMap { a in daemonBefore.map { a.cpuShare(since: $0, over: seconds) } } ?? [],
            daemonPeakResidentBytes: daemonAfter?.peakResidentBytes,
            benchCPU: benchAfter.flatMap { a in benchBefore.map { a.cpuShare(since: $0, over: seconds) } } ?? [],
            messagesPerSecond: Double(deliveredTotal) / max(1e-9, Double(report.endMonotonic - report.startMonotonic) / 1e9),
            catchUpSeconds: catchUp,
            timeline: timeline, failures: failures,
            latencyCurve: all.percentileCurve().map { .init(percentile: $0.percentile, nanos: $0.nanos) })
    }

    private var offeredRate: Double {
        feed.spanNanos > 0 ? Double(max(0, feed.ticks.count - 1)) / (Double(feed.spanNanos) / 1e9) : Double(feed.ticks.count)
    }

    private func scrape() throws -> DaemonMetrics {
        target.subscribers == .redis ? DaemonMetrics(text: "") : try DaemonMetrics.fetch(host: target.httpHost, port: target.httpPort)
    }
}

/// The sender on a thread of its own.
final class SenderThread: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Result<OpenLoopSender.Report, any Error>?>(nil)

    init(sender: OpenLoopSender, socket: Socket, start: Int64, clock: BenchClock, stop: @escaping @Sendable () -> Bool) {
        let thread = Thread { [self] in
            ThreadName.set("akis-bench-send")
            let result = Result { try sender.run(to: socket, startingAt: start, clock: clock, stop: stop) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        thread.start()
    }

    var finished: Bool { outcome.withLock { $0 != nil } }

    func result() throws -> OpenLoopSender.Report {
        done.wait()
        done.signal()
        return try outcome.withLock { $0! }.get()
    }
}

/// Reads and discards what a server sends on a connection until it closes (on a thread).
final class ReplyDrain: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ socket: Socket) {
        let thread = Thread { [self] in
            ThreadName.set("akis-bench-drain")
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while (try? buffer.withUnsafeMutableBytes { try socket.receive(into: $0) }) ?? 0 > 0 {}
            done.signal()
        }
        thread.start()
    }

    /// Waits for the server to close, at most `seconds`.
    func wait(seconds: Int = 30) { _ = done.wait(timeout: .now() + .seconds(seconds)) }
}
