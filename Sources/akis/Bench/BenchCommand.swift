import ArgumentParser
import AkisConfig
import Bench
import Foundation
import Ingest

/// `akis bench`: tick-to-client latency and delivery under open-loop load, against a daemon it
/// starts (with a private PostgreSQL) or one already running.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure tick-to-client latency, delivery and storage under open-loop load.",
        discussion: """
            Sends a feed (synthetic, or --recording) to the daemon on a fixed schedule that never \
            waits for it, stamping each tick's exchange time with the time it was scheduled for, \
            while --clients WebSocket subscribers in this process measure receive time − scheduled \
            time for every tick (HdrHistogram). By default it starts a private PostgreSQL (in \
            --dir) and `akis serve` from this executable; --daemon measures one already running. \
            Prints a progress line a second and a report, and writes the result as JSON. Exits \
            with status 1 when the run is not a pass (a tick lost, a gap, a client cut off).
            """)

    @Option(help: "Ticks per second offered (synthetic feed).") var rate: Double = 50_000
    @Option(help: "Seconds of feed to send (synthetic feed), e.g. 30 or 2m.") var duration = "30"
    @Option(help: "Symbols in the synthetic feed (1-30, BIST-30 order).") var symbols = 30
    @Option(help: "Replay this recording instead of a synthetic feed (its own pacing, scaled by --speed).") var recording: String?
    @Option(help: "With --recording: 1 = the recording's pace, 10 = ten times faster.") var speed: Double = 1
    @Option(help: "WebSocket subscribers, all in this process.") var clients = 100
    @Option(help: "Symbols each subscriber takes (dealt round the universe).") var symbolsPerClient = 3
    @Option(help: "How many of the --clients subscribe to every symbol.") var firehose = 2
    @Option(help: "Event-loop threads for the subscribers.") var clientThreads = 2
    @Flag(help: "Store nothing: the daemon's store lane ends in a counting sink (the daemon's own ceiling).") var nullStore = false
    @Flag(help: "Preload TimescaleDB in the private PostgreSQL (it must be installed).") var timescaledb = false
    @Option(help: "Give the daemon this Kafka broker (HOST:PORT): the relay and the Kafka market lane run too.") var kafka: String?
    @Option(help: "Run the daemon with [auth] (BCrypt cost 12, the market data open) and keep this many clients logging in throughout.") var loginStorm = 0
    @Option(help: "With --login-storm: the daemon's [auth] bcrypt_cpu_share (default: the daemon's).") var bcryptCpuShare: Double?
    @Option(help: "Measure a running daemon at this HTTP address (HOST:PORT) instead of starting one; needs --feed.") var daemon: String?
    @Option(help: "With --daemon: its TCP feed address, tcp://HOST:PORT (binary frames).") var feed: String?
    @Option(help: "Working directory (configuration, logs, the private PostgreSQL, results).") var dir = ".akis/bench"
    @Option(help: "Write the JSON result here (default DIR/result.json).") var json: String?
    @Option(help: "Write the latency and throughput plot (SVG) here (default DIR/latency.svg).") var plot: String?
    @Flag(help: "Raise the rate from --rate by half each step (each --duration long) until a tick is lost, p99 passes --p99-bound or storage falls behind; report the highest rate held.")
    var findMax = false
    @Option(help: "With --find-max: the highest p99 latency a step may have, in milliseconds.") var p99Bound: Double = 50
    @Option(help: "With --find-max: the highest rate to try, ticks per second.") var maxRate: Double = 10_000_000
    @Option(help: "With --find-max: halvings of the interval between the highest rate held and the lowest that failed (one step each; 4 resolve about 3%).")
    var refinements = 2
    @Flag(help: "Also measure psql's \\copy (FORMAT binary) of the stored rows into the emptied table, for comparison.") var psqlBaseline = false
    @Flag(help: "Also send the same ticks through Redis pub/sub (Debian's redis-server, started here) to the same subscriber mix, measured the same way (with --find-max, its own search).")
    var redisBaseline = false

    func validate() throws {
        guard parseDuration(duration) != nil else { throw ValidationError("--duration must be like 30, 30s or 2m, got \(duration.debugDescription)") }
        guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be a positive number of ticks per second, got \(rate)") }
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be positive, got \(speed)") }
        guard (1...64).contains(clientThreads) else { throw ValidationError("--client-threads must be between 1 and 64, got \(clientThreads)") }
        if daemon != nil && feed == nil { throw ValidationError("--daemon needs --feed, the daemon's TCP feed address (tcp://HOST:PORT)") }
        if feed != nil && daemon == nil { throw ValidationError("--feed is for a running daemon: give its HTTP address with --daemon") }
        if daemon != nil && (nullStore || timescaledb || kafka != nil) {
            throw ValidationError("--null-store, --timescaledb and --kafka configure a daemon the bench starts; they do not apply with --daemon")
        }
        if loginStorm < 0 || loginStorm > 2_000 { throw ValidationError("--login-storm is 0 to 2000 clients, got \(loginStorm)") }
        if let share = bcryptCpuShare, loginStorm == 0 || !(0.01...1).contains(share) { throw ValidationError("--bcrypt-cpu-share is 0.01 to 1, with --login-storm") }
        if loginStorm > 0 && (daemon != nil || nullStore) { throw ValidationError("--login-storm needs a daemon the bench starts, with its database: not with --daemon or --null-store") }
        if kafka != nil && nullStore { throw ValidationError("--kafka needs the store (the relay and the Kafka lane work from it): not with --null-store") }
        if !(0...10).contains(refinements) { throw ValidationError("--refinements is 0 to 10, got \(refinements)") }
        if findMax && recording != nil { throw ValidationError("--find-max sets the rate of a synthetic feed; it does not apply to --recording") }
        guard p99Bound > 0, p99Bound.isFinite else { throw ValidationError("--p99-bound must be a positive number of milliseconds, got \(p99Bound)") }
        if psqlBaseline && (daemon != nil || nullStore) { throw ValidationError("--psql-baseline needs the bench's own PostgreSQL: not with --daemon or --null-store") }
    }

    func run() throws {
        #if DEBUG
        printError("warning: this is a debug build of akis; its figures are not representative (swift build -c release)")
        #endif
        BenchInterrupt.install()
        let log: @Sendable (String) -> Void = { printError($0) }
        if (try? String(contentsOfFile: "/proc/sys/kernel/sched_autogroup_enabled", encoding: .utf8))?.hasPrefix("1") == true {
            log("bench: note: kernel.sched_autogroup_enabled is 1: the daemon and PostgreSQL share the CPU as separate groups, which widens the latency spread (docs/bench.md, Limits)")
        }
        // Absolute: redis-server changes into its directory before it opens its log.
        let dir = URL(fileURLWithPath: self.dir).standardizedFileURL.path
        // Sequence numbers start from the wall clock in microseconds, so they rise across runs
        // against the same daemon (which drops numbers it has seen).
        var nextSequence = UInt64(Clock.wallNanos() / 1_000)
        var source = "synthetic (Poisson arrivals)"
        // A feed for each run; sequence numbers keep rising from one to the next.
        func makeFeed(rate: Double) throws -> BenchFeed {
            let feed: BenchFeed
            if let recording {
                let (f, rejected) = try BenchFeed.recording(path: recording, speed: speed, firstSequence: nextSequence)
                if rejected > 0 { log("bench: \(grouped(rejected)) frames of \(recording) do not decode and are left out") }
                source = "recording \(recording) at speed \(speed)"
                feed = f
            } else {
                feed = try BenchFeed.synthetic(rate: rate, duration: parseDuration(duration)!, symbolCount: symbols, firstSequence: nextSequence)
            }
            nextSequence = max(UInt64(Clock.wallNanos() / 1_000), feed.firstSequence + UInt64(feed.ticks.count))
            return feed
        }
        let first = try makeFeed(rate: rate)
        let mix = try SubscriptionMix(clients: clients, symbolsPerClient: symbolsPerClient, firehose: firehose, symbolCount: first.symbols.count)

        var started: BenchDaemon?
        let target: BenchRun.Target
        if let daemon {
            guard let colon = daemon.lastIndex(of: ":"), let port = UInt16(daemon[daemon.index(after: colon)...]) else {
                throw ValidationError("--daemon must be HOST:PORT, got \(daemon.debugDescription)")
            }
            let feedAddress: FeedAddress
            do { feedAddress = try FeedAddress(parsing: feed!) } catch { throw ValidationError("--feed: \(error)") }
            target = BenchRun.Target(feed: feedAddress, httpHost: String(daemon[..<colon]), httpPort: port, pid: nil,
                                     description: "running daemon at \(daemon)", storing: true)
        } else {
            let d = try BenchDaemon(directory: dir, nullStore: nullStore, timescaleDB: timescaledb, clients: clients, kafka: kafka, auth: loginStorm > 0 ? bcryptCpuShare.map { ["bcrypt_cpu_share = \($0)"] } ?? [] : nil,
                                    symbols: first.symbols.allNames, log: log)
            started = d
            target = d.target
        }
        defer { started?.stop() }
        var options = BenchRun.Options(mix: mix)
        options.clientThreads = clientThreads
        options.interrupted = { BenchInterrupt.isRequested }
        options.command = (["akis"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        func run(_ feed: BenchFeed, on target: BenchRun.Target) throws -> BenchResult {
            options.source = source
            do { return try BenchRun(feed: feed, target: target, options: options, log: log).run() } catch { throw CLIError("\(error)") }
        }
        /// One run, or a `--find-max` search, against `target`.
        func measure(_ target: BenchRun.Target, first: BenchFeed, name: String) throws -> ([BenchResult], BenchOutput.FindMax?) {
            guard findMax else { return ([try run(first, on: target)], nil) }
            let bound = Int64(p99Bound * 1e6)
            var search = RateSearch(start: rate, refinements: refinements, ceiling: max(rate, maxRate))
            var runs: [BenchResult] = []
            var steps: [BenchOutput.FindMax.Step] = []
            var feed = first
            while true {
                log(String(format: "find-max (%@): step %d at %@ ticks/s", name, steps.count + 1, grouped(UInt64(search.current))))
                let result = try run(feed, on: target)
                let failure = StepVerdict.failure(of: result, p99Bound: bound)
                log("find-max (\(name)): \(grouped(UInt64(search.current))) ticks/s " + (failure.map { "not held: \($0)" } ?? "held")
                    + String(format: " (p99 %.3f ms, %@ messages/s)", Double(result.all.p99) / 1e6, grouped(UInt64(result.messagesPerSecond))))
                runs.append(result)
                steps.append(.init(rate: search.current, failure: failure))
                guard !BenchInterrupt.isRequested, let next = search.record(held: failure == nil) else { break }
                feed = try makeFeed(rate: next)
            }
            return (runs, .init(p99BoundNanos: bound, steps: steps, highestRate: search.highestHeld))
        }

        var storm: LoginStorm?
        if loginStorm > 0, let started {
            let password = try started.addUser("storm")
            log("bench: \(loginStorm) clients log in as storm throughout (BCrypt cost 12)")
            storm = LoginStorm(clients: loginStorm, host: target.httpHost, port: target.httpPort, user: "storm", password: password)
        }
        let measured = Result { try measure(target, first: first, name: "akis") }
        if let line = storm?.stop() { log("bench: \(line)"); print(line) }
        let (runs, search) = try measured.get()
        var output = BenchOutput(runs: runs, findMax: search)
        if let started, let line = started.stopDaemon() { log("daemon \(line)") }
        if psqlBaseline, !BenchInterrupt.isRequested, let started {
            do { output.psqlCopy = try started.psqlCopy(log: log) } catch { log("baseline: psql failed: \(error)") }
        }
        if redisBaseline && !BenchInterrupt.isRequested {
            let redis = try RedisServer(directory: "\(dir)/redis", log: log)
            defer { redis.stop() }
            let (runs, search) = try measure(redis.target, first: try makeFeed(rate: rate), name: "redis")
            output.redis = .init(runs: runs, findMax: search)
        }

        for (i, r) in output.runs.enumerated() {
            if output.runs.count > 1 { print("\n== step \(i + 1) of \(output.runs.count)") }
            print(BenchReport.text(r))
        }
        for (i, r) in (output.redis?.runs ?? []).enumerated() {
            print("\n== baseline: Redis pub/sub" + ((output.redis?.runs.count ?? 0) > 1 ? ", step \(i + 1)" : ""))
            print(BenchReport.text(r))
        }
        print(BenchReport.summary(output))
        let path = json ?? "\(dir)/result.json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try encoder.encode(output).write(to: URL(fileURLWithPath: path))
        let plotPath = plot ?? "\(dir)/latency.svg"
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: plotPath).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try BenchPlot.svg(output).write(toFile: plotPath, atomically: true, encoding: .utf8)
        print("result: \(path)")
        print("plot: \(plotPath)")
        if BenchInterrupt.isRequested { throw ExitCode(130) }
        let passed = findMax ? output.findMax?.highestRate != nil : output.runs.allSatisfy(\.passed)
        if !passed { throw ExitCode(1) }
    }
}
