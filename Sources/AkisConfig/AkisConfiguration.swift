import Aggregator
import Ingest

/// Everything `akis serve` can be told, loaded once from a TOML file (see docs/configuration.md).
/// Every option has a default; unknown keys and bad values are errors that name the key.
public struct AkisConfiguration: Sendable {
    /// [serve] stats_interval: time between summary lines.
    public var statsIntervalNanos: Int64 = 5_000_000_000
    /// [market] symbols: the symbol universe; ticks for anything else are rejected.
    public var symbols: SymbolTable
    /// [market] symbols_from_exchange: instruments exchange feeds announce join the symbols while
    /// the daemon runs (`SymbolUniverse`), and at start those announced before (stored in
    /// `exchange_instruments`) are added to `symbols`.
    public var symbolsFromExchange = false
    /// [http] address: where /metrics, /healthz and /readyz are served ("HOST:PORT"; port 0 = any).
    public var httpHost = "127.0.0.1"
    public var httpPort = 7480
    /// Who may read `/metrics`, `/healthz` and `/readyz` ([http] operator_routes).
    public var operatorRoutes = OperatorRoutes.open

    /// `[http] operator_routes`: the operator routes for every client, or for loopback clients
    /// only (403 to the rest), for a daemon whose HTTP address is reachable from outside.
    public enum OperatorRoutes: String, CaseIterable, Sendable {
        case open
        case local
    }
    /// [database] url: a libpq connection string; none means no database yet.
    public var databaseURL: String?
    /// [database] pool_size, connect_timeout, statement_timeout: the request/response side's pool.
    public var databasePool = DatabasePool()
    /// [store]: the batch writer and its spool (used when a database is configured).
    public var store = StoreSettings()
    /// [aggregator] grace, allowed_lateness: when 1-minute candles close, and how late a trade may
    /// still correct one.
    public var candles = CandleAggregator.Options()
    /// [aggregator] snapshot_interval: market time between top-of-book snapshots (order_book_snapshots).
    public var snapshotIntervalNanos: Int64 = 10_000_000_000
    /// [calendar]: BIST's session phases, half days and holidays (Europe/Istanbul).
    public var calendar = SessionCalendar()
    /// [reader] threads: reader threads; feeds are spread over them in order.
    public var readerThreads = 1
    /// [reader] ring_capacity: ticks each reader's ring to the pipeline holds.
    public var readerRingCapacity = 1 << 16
    /// [reader] receive_path, buffer_size, buffer_count, max_frame_bytes, batch_size.
    public var reader = FeedReaderOptions()
    /// [lanes.store] and [lanes.fanout]: the pipeline's hand-off to each consumer.
    public var storeLane = Lane(capacity: 1 << 16, policy: .block)
    public var fanoutLane = Lane(capacity: 1 << 18, policy: .drop)
    /// [fanout]: the WebSocket clients of /ws/market-data.
    public var fanout = FanoutSettings()
    /// [[feeds]]
    public var feeds: [FeedEndpoint]
    /// The modules' own sections (`ModuleSettings`), by table name; read them with `settings(_:)`.
    public private(set) var moduleSettings: [String: any ModuleSettings] = [:]

    /// A module's settings: as read from its table, or its defaults.
    public func settings<S: ModuleSettings>(_: S.Type = S.self) -> S {
        moduleSettings[S.section] as? S ?? S()
    }

    public struct FanoutSettings: Sendable, Equatable {
        /// max_clients: connections beyond this are refused (WebSocket close 1013).
        public var maximumClients = 256
        /// client_queue: messages a client may fall behind before it is disconnected as slow.
        public var clientQueue = 16_384
        public init() {}
    }

    /// The postgres-nio pool that the HTTP side (history API, and the modules) shares.
    public struct DatabasePool: Sendable, Equatable {
        /// pool_size: connections at most.
        public var connections = 8
        /// connect_timeout: how long opening a connection may take.
        public var connectTimeoutNanos: Int64 = 10_000_000_000
        /// statement_timeout: the server cancels a statement of the pool's that runs longer.
        public var statementTimeoutNanos: Int64 = 30_000_000_000
        public init() {}
    }

    public struct StoreSettings: Sendable, Equatable {
        /// flush_interval: the longest a tick waits before its batch is cut.
        public var flushIntervalNanos: Int64 = 100_000_000
        /// batch_ticks: a batch is cut early at this many ticks.
        public var batchTicks = 100_000
        /// writer_id: this daemon's row in ingest_writers (its batch numbering).
        public var writerID = "akis"
        /// spool_directory, spool_max_mb, spool_segment_mb.
        public var spoolDirectory = "/var/lib/akis/spool"
        public var spoolMaximumBytes: Int64 = 8192 << 20
        public var spoolSegmentBytes: Int64 = 64 << 20
        /// retention_days: ticks and candles older than this many days are dropped.
        public var retentionDays = 365
        /// compress_after_days: TimescaleDB compresses chunks older than this many days.
        public var compressAfterDays = 1
        public init() {}
    }

    public struct Lane: Sendable, Equatable {
        public var capacity: Int
        public var policy: ConsumerLane.FullPolicy
        public init(capacity: Int, policy: ConsumerLane.FullPolicy) {
            self.capacity = capacity
            self.policy = policy
        }
    }

    /// The embedded default: BIST-30 and one binary TCP feed listened for on 127.0.0.1:7400.
    public static let defaultFeedAddress = FeedAddress(transport: .tcp, host: "127.0.0.1", port: 7400)

    public init() {
        symbols = try! SymbolTable(BISTMarket.bist30)
        feeds = [FeedEndpoint(name: "main", id: 1, address: Self.defaultFeedAddress)]
    }

    /// The tables of the daemon itself; a module's section must be another.
    public static let coreSections: Set<String> = ["serve", "market", "http", "database", "store", "aggregator", "calendar", "reader",
                                                   "lanes", "fanout", "feeds"]

    /// Parses and validates a configuration file's text, with the sections of `modules`.
    public static func parse(_ text: String, modules: [any ModuleSettings.Type] = []) throws(ConfigError) -> AkisConfiguration {
        let table: TOMLTable
        do { table = try TOMLParser.parse(text) } catch { throw ConfigError("TOML syntax error at \(error)") }
        var root = ConfigSection(path: "", table: table)
        var config = AkisConfiguration()

        if var serve = try root.section("serve") {
            config.statsIntervalNanos = try serve.duration("stats_interval", default: config.statsIntervalNanos, in: 100_000_000...86_400_000_000_000)
            try serve.finish()
        }
        if var market = try root.section("market") {
            if let names = try market.stringArray("symbols") {
                guard !names.isEmpty else { throw market.fail("symbols", "the symbol list is empty") }
                do { config.symbols = try SymbolTable(names) } catch { throw market.fail("symbols", "\(error)") }
            }
            config.symbolsFromExchange = try market.bool("symbols_from_exchange", default: false)
            try market.finish()
        }
        if var http = try root.section("http") {
            if let address = try http.string("address") {
                guard let (host, port) = hostAndPort(address) else {
                    throw http.fail("address", "\(Sanitized(address)) is not HOST:PORT (e.g. \"127.0.0.1:7480\", \"[::1]:7480\", port 0 for any)")
                }
                config.httpHost = host
                config.httpPort = port
            }
            config.operatorRoutes = try http.choice("operator_routes", default: config.operatorRoutes)
            try http.finish()
        }
        if var database = try root.section("database") {
            if let url = try database.string("url") {
                guard !url.isEmpty else { throw database.fail("url", "is empty; leave the key out for no database") }
                config.databaseURL = url
            }
            config.databasePool.connections = try database.integer("pool_size", default: config.databasePool.connections, in: 1...1000)
            config.databasePool.connectTimeoutNanos = try database.duration("connect_timeout", default: config.databasePool.connectTimeoutNanos,
                                                                            in: 100_000_000...600_000_000_000)
            config.databasePool.statementTimeoutNanos = try database.duration("statement_timeout", default: config.databasePool.statementTimeoutNanos,
                                                                              in: 1_000_000...86_400_000_000_000)
            try database.finish()
        }
        if var store = try root.section("store") {
            config.store = try storeSettings(&store)
            try store.finish()
        }
        if var aggregator = try root.section("aggregator") {
            config.candles.graceNanos = try aggregator.duration("grace", default: config.candles.graceNanos, in: 0...3_600_000_000_000)
            config.candles.allowedLatenessNanos = try aggregator.duration("allowed_lateness", default: config.candles.allowedLatenessNanos,
                                                                          in: 0...86_400_000_000_000)
            guard config.candles.allowedLatenessNanos >= config.candles.graceNanos else {
                throw aggregator.fail("allowed_lateness", "must not be shorter than grace (a candle is still open during its grace)")
            }
            config.snapshotIntervalNanos = try aggregator.duration("snapshot_interval", default: config.snapshotIntervalNanos,
                                                                   in: 100_000_000...3_600_000_000_000)
            try aggregator.finish()
        }
        if var calendar = try root.section("calendar") {
            config.calendar = try calendarSettings(&calendar)
            try calendar.finish()
        }
        if var reader = try root.section("reader") {
            config.readerThreads = try reader.integer("threads", default: config.readerThreads, in: 1...64)
            config.readerRingCapacity = try reader.integer("ring_capacity", default: config.readerRingCapacity, in: 1024...(1 << 24))
            let path = try reader.string("receive_path", default: "auto")
            if path != "auto" {
                guard let p = ReceivePath(rawValue: path) else {
                    throw reader.fail("receive_path", "\(Sanitized(path)) is not one of \"auto\", " + ReceivePath.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
                }
                config.reader.receivePath = p
            }
            config.reader.bufferSize = try reader.integer("buffer_size", default: config.reader.bufferSize, in: 1024...(1 << 20))
            config.reader.bufferCount = try reader.integer("buffer_count", default: config.reader.bufferCount, in: 16...32768)
            guard config.reader.bufferCount & (config.reader.bufferCount - 1) == 0 else {
                throw reader.fail("buffer_count", "\(config.reader.bufferCount) is not a power of two")
            }
            config.reader.maximumFrameBytes = try reader.integer("max_frame_bytes", default: config.reader.maximumFrameBytes, in: 128...(1 << 20))
            config.reader.batchSize = try reader.integer("batch_size", default: config.reader.batchSize, in: 1...65536)
            try reader.finish()
        }
        if var lanes = try root.section("lanes") {
            if var store = try lanes.section("store") {
                config.storeLane = try lane(&store, default: config.storeLane)
                guard config.storeLane.policy == .block else {
                    throw store.fail("on_full", "storage never drops ticks: only \"block\" is allowed")
                }
                try store.finish()
            }
            if var fanout = try lanes.section("fanout") {
                config.fanoutLane = try lane(&fanout, default: config.fanoutLane)
                try fanout.finish()
            }
            try lanes.finish()
        }
        if var fanout = try root.section("fanout") {
            config.fanout.maximumClients = try fanout.integer("max_clients", default: config.fanout.maximumClients, in: 1...100_000)
            config.fanout.clientQueue = try fanout.integer("client_queue", default: config.fanout.clientQueue, in: 16...(1 << 22))
            try fanout.finish()
        }
        let feedSections = try root.sections("feeds")
        if table["feeds"] != nil {
            guard !feedSections.isEmpty else { throw ConfigError("feeds: at least one [[feeds]] table is needed") }
            config.feeds = []
            for var section in feedSections {
                config.feeds.append(try feed(&section, position: config.feeds.count))
                try section.finish()
            }
            try checkDistinct(config.feeds)
        }
        for module in modules {
            precondition(!coreSections.contains(module.section), "[\(module.section)] is the daemon's own table")
            if var section = try root.section(module.section) {
                config.moduleSettings[module.section] = try read(module, &section)
                try section.finish()
            }
        }
        try root.finish()
        return config
    }

    private static func read<S: ModuleSettings>(_: S.Type, _ section: inout ConfigSection) throws(ConfigError) -> S {
        var settings = S()
        try settings.read(&section)
        return settings
    }

    /// `HOST:PORT` (IPv6 in brackets) as host and port, or nil when it is not one.
    public static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        return (String(host), Int(port))
    }

    private static func storeSettings(_ s: inout ConfigSection) throws(ConfigError) -> StoreSettings {
        var out = StoreSettings()
        out.flushIntervalNanos = try s.duration("flush_interval", default: out.flushIntervalNanos, in: 1_000_000...60_000_000_000)
        out.batchTicks = try s.integer("batch_ticks", default: out.batchTicks, in: 1...10_000_000)
        out.writerID = try s.string("writer_id", default: out.writerID)
        guard !out.writerID.isEmpty, out.writerID.count <= 64,
              out.writerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw s.fail("writer_id", "\(Sanitized(out.writerID)) must be 1 to 64 characters of letters, digits, '-', '_' or '.'")
        }
        out.spoolDirectory = try s.string("spool_directory", default: out.spoolDirectory)
        guard !out.spoolDirectory.isEmpty, !out.spoolDirectory.contains("\0") else {
            throw s.fail("spool_directory", "is empty")
        }
        out.spoolMaximumBytes = Int64(try s.integer("spool_max_mb", default: Int(out.spoolMaximumBytes >> 20), in: 16...(1 << 24))) << 20
        out.spoolSegmentBytes = Int64(try s.integer("spool_segment_mb", default: Int(out.spoolSegmentBytes >> 20), in: 1...1024)) << 20
        guard out.spoolSegmentBytes * 2 <= out.spoolMaximumBytes else {
            throw s.fail("spool_segment_mb", "\(out.spoolSegmentBytes >> 20) MiB is more than half of spool_max_mb (\(out.spoolMaximumBytes >> 20) MiB)")
        }
        out.retentionDays = try s.integer("retention_days", default: out.retentionDays, in: 1...36_500)
        out.compressAfterDays = try s.integer("compress_after_days", default: out.compressAfterDays, in: 1...36_500)
        guard out.compressAfterDays <= out.retentionDays else {
            throw s.fail("compress_after_days", "\(out.compressAfterDays) is after retention_days (\(out.retentionDays)): the data would be gone before it is compressed")
        }
        return out
    }

    private static func calendarSettings(_ s: inout ConfigSection) throws(ConfigError) -> SessionCalendar {
        var out = SessionCalendar()
        func schedule(_ key: String) throws(ConfigError) -> [SessionCalendar.PhaseStart]? {
            guard let entries = try s.stringArray(key) else { return nil }
            var phases: [SessionCalendar.PhaseStart] = []
            for entry in entries {
                let parts = entry.split(separator: " ", omittingEmptySubsequences: true)
                let clock = parts.first.map { $0.split(separator: ":") } ?? []
                guard parts.count == 2, clock.count == 2, clock[0].count == 2, clock[1].count == 2,
                      let h = Int(clock[0]), let m = Int(clock[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                    throw s.fail(key, "\(Sanitized(entry)) is not \"HH:MM phase\" (e.g. \"10:00 continuous\")")
                }
                guard let phase = SessionPhase(rawValue: String(parts[1])) else {
                    throw s.fail(key, "\(Sanitized(String(parts[1]))) is not one of " + SessionPhase.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
                }
                if let last = phases.last, last.minute >= h * 60 + m { throw s.fail(key, "\(entry) is not later than the entry before it") }
                phases.append(.init(minute: h * 60 + m, phase: phase))
            }
            guard phases.contains(where: { $0.phase != .closed }) else { throw s.fail(key, "has no trading phase") }
            guard phases.last?.phase == .closed else { throw s.fail(key, "must end with a \"closed\" entry") }
            return phases
        }
        func dates(_ key: String) throws(ConfigError) -> Set<Int>? {
            guard let entries = try s.stringArray(key) else { return nil }
            var days: Set<Int> = []
            for entry in entries {
                let parts = entry.split(separator: "-")
                guard entry.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
                      (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d),
                      UTCTime.civilFromDays(UTCTime.daysFromCivil(year: y, month: m, day: d)) == (y, m, d) else {
                    throw s.fail(key, "\(Sanitized(entry)) is not a date YYYY-MM-DD")
                }
                days.insert(UTCTime.daysFromCivil(year: y, month: m, day: d))
            }
            return days
        }
        if let v = try schedule("sessions") { out.regularDay = v }
        if let v = try schedule("half_day_sessions") { out.halfDay = v }
        if let v = try dates("holidays") { out.holidays = v }
        if let v = try dates("half_days") { out.halfDays = v }
        return out
    }

    private static func lane(_ s: inout ConfigSection, default value: Lane) throws(ConfigError) -> Lane {
        Lane(capacity: try s.integer("capacity", default: value.capacity, in: 1024...(1 << 24)),
             policy: try s.choice("on_full", default: value.policy))
    }

    private static func feed(_ s: inout ConfigSection, position: Int) throws(ConfigError) -> FeedEndpoint {
        let name = try s.string("name", default: "feed\(position + 1)")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw s.fail("name", "\(Sanitized(name)) must be 1 to 64 characters of letters, digits, '-', '_' or '.'")
        }
        let id = try s.integer("id", default: position + 1, in: 1...Int(Int16.max))
        let format = try s.choice("format", default: FeedFormat.binary)
        let text = try s.string("address")
        var endpoint: FeedEndpoint
        if !format.isSocketFormat {
            // Its own module connects it ([algolab] websocket_url); it has no socket address.
            if text != nil { throw s.fail("address", "an \(format.rawValue) feed connects where [\(format.rawValue)] says; leave address out") }
            endpoint = FeedEndpoint(name: name, id: UInt16(id), address: FeedAddress(transport: .tcp, host: format.rawValue, port: 0),
                                    role: .connect, format: format)
        } else {
            guard let text else { throw ConfigError("\(s.path): address is missing (e.g. address = \"tcp://127.0.0.1:7400\")") }
            let address: FeedAddress
            do { address = try FeedAddress(parsing: text) } catch { throw s.fail("address", "\(error)") }
            let role = try s.choice("role", default: FeedEndpoint.Role.listen)
            if role == .connect && address.transport == .udp {
                throw s.fail("role", "a UDP feed is received by binding to its address: use role = \"listen\"")
            }
            if role == .connect && address.port == 0 { throw s.fail("address", "a feed to connect to needs a port other than 0") }
            endpoint = FeedEndpoint(name: name, id: UInt16(id), address: address, role: role, format: format)
            endpoint.multicastInterface = try s.string("multicast_interface", default: endpoint.multicastInterface)
            if format == .bistITCH {
                guard address.transport == .udp else { throw s.fail("address", "a bist-itch feed is MoldUDP64 over UDP: use udp://GROUP:PORT") }
                endpoint.exchange = try exchangeOptions(&s)
            }
        }
        endpoint.reconnectInitialNanos = try s.duration("reconnect_initial", default: endpoint.reconnectInitialNanos, in: 1_000_000...3_600_000_000_000)
        endpoint.reconnectMaximumNanos = try s.duration("reconnect_max", default: endpoint.reconnectMaximumNanos, in: 1_000_000...3_600_000_000_000)
        guard endpoint.reconnectMaximumNanos >= endpoint.reconnectInitialNanos else {
            throw s.fail("reconnect_max", "must not be shorter than reconnect_initial")
        }
        endpoint.connectTimeoutNanos = try s.duration("connect_timeout", default: endpoint.connectTimeoutNanos, in: 1_000_000...600_000_000_000)
        return endpoint
    }

    /// A `bist-itch` feed's rewinder, recovery budget, time base and liveness.
    private static func exchangeOptions(_ s: inout ConfigSection) throws(ConfigError) -> ExchangeFeedOptions {
        var o = ExchangeFeedOptions()
        if let text = try s.string("rewinder") {
            do { o.rewinder = try FeedAddress(parsing: text) } catch { throw s.fail("rewinder", "\(error)") }
            guard o.rewinder!.transport == .udp, o.rewinder!.port != 0 else {
                throw s.fail("rewinder", "the retransmission server is reached over UDP: use udp://HOST:PORT with a port other than 0")
            }
        }
        o.recovery.requestsPerSession = try s.integer("recovery_requests", default: o.recovery.requestsPerSession, in: 0...1_000_000)
        o.recovery.maximumRecoveredShare = try s.number("recovery_share", default: o.recovery.maximumRecoveredShare, in: 0...1)
        o.recovery.messagesPerRequest = UInt16(try s.integer("recovery_messages_per_request", default: Int(o.recovery.messagesPerRequest), in: 1...65_534))
        o.recovery.timeoutNanos = try s.duration("recovery_timeout", default: o.recovery.timeoutNanos, in: 1_000_000...60_000_000_000)
        o.recovery.attempts = try s.integer("recovery_attempts", default: o.recovery.attempts, in: 1...100)
        o.secondsBase = try s.choice("seconds", default: o.secondsBase)
        o.staleAfterNanos = try s.duration("stale_after", default: o.staleAfterNanos, in: 100_000_000...3_600_000_000_000)
        o.depthLevels = try s.integer("depth_levels", default: o.depthLevels, in: 0...50)
        o.depthIntervalNanos = try s.duration("depth_interval", default: o.depthIntervalNanos, in: 1_000_000...60_000_000_000)
        return o
    }

    private static func checkDistinct(_ feeds: [FeedEndpoint]) throws(ConfigError) {
        for (i, a) in feeds.enumerated() {
            for (j, b) in feeds.enumerated() where j > i {
                if a.name == b.name { throw ConfigError("feeds[\(j)].name: \"\(b.name)\" is already the name of feeds[\(i)]") }
                if a.id == b.id { throw ConfigError("feeds[\(j)].id: \(b.id) is already the id of feeds[\(i)] (sequence numbers are tracked per id)") }
                if a.role == .listen && b.role == .listen && a.address == b.address && a.address.port != 0 {
                    throw ConfigError("feeds[\(j)].address: \(b.address) is already the address of feeds[\(i)]")
                }
            }
        }
    }
}
