import Aggregator
import AkisConfig
import Ingest
import Testing

@Suite struct AkisConfigurationTests {
    @Test func anEmptyFileIsTheEmbeddedDefault() throws {
        let c = try AkisConfiguration.parse("")
        #expect(c.feeds == [FeedEndpoint(name: "main", id: 1, address: AkisConfiguration.defaultFeedAddress)])
        #expect(c.symbols.count == 30)
        #expect(c.statsIntervalNanos == 5_000_000_000)
        #expect(c.reader == FeedReaderOptions())
        #expect(c.storeLane.policy == .block)
        #expect(c.fanoutLane.policy == .drop)
        #expect(c.databaseURL == nil)
        #expect(c.httpHost == "127.0.0.1" && c.httpPort == 7480)
    }

    @Test func everyOptionIsRead() throws {
        let c = try AkisConfiguration.parse("""
            [serve]
            stats_interval = "250ms"
            [market]
            symbols = ["AKBNK", "THYAO", "X030.E"]
            [http]
            address = "[::1]:0"
            [database]
            url = "host=/tmp dbname=akis"
            pool_size = 3
            connect_timeout = "2s"
            statement_timeout = "500ms"
            [reader]
            threads = 2
            ring_capacity = 4096
            receive_path = "io_uring-recv"
            buffer_size = 8192
            buffer_count = 256
            max_frame_bytes = 2048
            batch_size = 128
            [store]
            flush_interval = "20ms"
            batch_ticks = 5000
            writer_id = "colo-1"
            spool_directory = "/data/akis/spool"
            spool_max_mb = 1024
            spool_segment_mb = 16
            retention_days = 90
            compress_after_days = 2
            [aggregator]
            grace = "1s"
            allowed_lateness = "5m"
            snapshot_interval = "1s"
            [calendar]
            sessions = ["09:30 opening_auction", "10:00 continuous", "18:00 closing_auction", "18:10 closed"]
            half_day_sessions = ["09:30 opening_auction", "10:00 continuous", "12:00 closed"]
            holidays = ["2027-01-01", "2027-04-23"]
            half_days = ["2027-10-28"]
            [lanes.store]
            capacity = 2048
            on_full = "block"
            [lanes.fanout]
            capacity = 8192
            on_full = "block"
            [fanout]
            max_clients = 10
            client_queue = 500
            [[feeds]]
            name = "bist-a"
            id = 7
            address = "udp://239.1.1.1:5000"
            format = "json"
            multicast_interface = "127.0.0.1"
            [[feeds]]
            name = "vendor"
            address = "tcp://10.0.0.5:9000"
            role = "connect"
            reconnect_initial = "50ms"
            reconnect_max = "30s"
            connect_timeout = "2s"
            """)
        #expect(c.statsIntervalNanos == 250_000_000)
        #expect(c.symbols.count == 3)
        #expect(c.databaseURL == "host=/tmp dbname=akis")
        #expect(c.databasePool.connections == 3 && c.databasePool.connectTimeoutNanos == 2_000_000_000
                && c.databasePool.statementTimeoutNanos == 500_000_000)
        #expect(c.httpHost == "::1" && c.httpPort == 0)
        #expect(c.readerThreads == 2 && c.readerRingCapacity == 4096)
        #expect(c.reader == FeedReaderOptions(receivePath: .recv, bufferSize: 8192, bufferCount: 256, maximumFrameBytes: 2048, batchSize: 128))
        #expect(c.store.flushIntervalNanos == 20_000_000 && c.store.batchTicks == 5_000 && c.store.writerID == "colo-1")
        #expect(c.store.spoolDirectory == "/data/akis/spool" && c.store.spoolMaximumBytes == 1 << 30 && c.store.spoolSegmentBytes == 16 << 20)
        #expect(c.store.retentionDays == 90 && c.store.compressAfterDays == 2)
        #expect(c.candles.graceNanos == 1_000_000_000 && c.candles.allowedLatenessNanos == 300_000_000_000 && c.snapshotIntervalNanos == 1_000_000_000)
        #expect(c.calendar.regularDay.first == .init(minute: 9 * 60 + 30, phase: .openingAuction) && c.calendar.halfDay.count == 3)
        #expect(c.calendar.holidays == [UTCTime.daysFromCivil(year: 2027, month: 1, day: 1), UTCTime.daysFromCivil(year: 2027, month: 4, day: 23)])
        #expect(c.calendar.halfDays == [UTCTime.daysFromCivil(year: 2027, month: 10, day: 28)])
        #expect(c.calendar.phase(at: Int64(UTCTime.daysFromCivil(year: 2027, month: 1, day: 1)) * 86_400_000_000_000 + 8 * 3_600_000_000_000) == .closed)
        #expect(c.storeLane == .init(capacity: 2048, policy: .block))
        #expect(c.fanoutLane == .init(capacity: 8192, policy: .block))
        #expect(c.fanout.maximumClients == 10 && c.fanout.clientQueue == 500)
        #expect(c.feeds.count == 2)
        #expect(c.feeds[0].id == 7 && c.feeds[0].format == .jsonLines && c.feeds[0].multicastInterface == "127.0.0.1")
        #expect(c.feeds[1].id == 2, "ids default to the feed's position")
        #expect(c.feeds[1].role == .connect)
        #expect(c.feeds[1].reconnectInitialNanos == 50_000_000 && c.feeds[1].reconnectMaximumNanos == 30_000_000_000)
        #expect(c.feeds[1].connectTimeoutNanos == 2_000_000_000)
    }

    @Test(arguments: [
        ("[reader]\nbufer_size = 1", "unknown key reader.bufer_size (line 2)"),
        ("colour = 1", "unknown key colour (line 1)"),
        ("[serve]\nstats_interval = 5", "serve.stats_interval (line 2): expected a duration string"),
        ("[serve]\nstats_interval = \"soon\"", "serve.stats_interval (line 2): \"soon\" is not a duration"),
        ("[serve]\nstats_interval = \"1ms\"", "serve.stats_interval (line 2): 1ms is out of range"),
        ("[reader]\nbuffer_count = 100", "reader.buffer_count (line 2): 100 is not a power of two"),
        ("[reader]\nthreads = 0", "reader.threads (line 2): 0 is out of range 1...64"),
        ("[reader]\nreceive_path = \"fast\"", "reader.receive_path (line 2): \"fast\" is not one of \"auto\""),
        ("[lanes.store]\non_full = \"drop\"", "lanes.store.on_full (line 2): storage never drops ticks"),
        ("[lanes.fanout]\non_full = \"spill\"", "lanes.fanout.on_full (line 2): \"spill\" is not one of \"block\", \"drop\""),
        ("[fanout]\nmax_clients = 0", "fanout.max_clients (line 2): 0 is out of range 1...100000"),
        ("[fanout]\nclient_queue = 4", "fanout.client_queue (line 2): 4 is out of range 16...4194304"),
        ("[fanout]\nqueue = 4", "unknown key fanout.queue (line 2)"),
        ("[market]\nsymbols = [\"AKBNK\", \"bad symbol\"]", "market.symbols (line 2):"),
        ("[market]\nsymbols = []", "market.symbols (line 2): the symbol list is empty"),
        ("[market]\nsymbols = \"AKBNK\"", "market.symbols (line 2): expected an array of strings"),
        ("[[feeds]]\nname = \"a\"", "feeds[0]: address is missing"),
        ("[[feeds]]\naddress = \"127.0.0.1:9000\"", "feeds[0].address (line 2): bad feed address"),
        ("[[feeds]]\naddress = \"udp://127.0.0.1:9000\"\nrole = \"connect\"", "feeds[0].role (line 3): a UDP feed is received by binding"),
        ("[[feeds]]\naddress = \"tcp://127.0.0.1:0\"\nrole = \"connect\"", "feeds[0].address (line 2): a feed to connect to needs a port"),
        ("[[feeds]]\naddress = \"tcp://127.0.0.1:1\"\n[[feeds]]\naddress = \"tcp://127.0.0.1:2\"\nid = 1", "feeds[1].id: 1 is already the id of feeds[0]"),
        ("[[feeds]]\naddress = \"tcp://127.0.0.1:1\"\n[[feeds]]\naddress = \"tcp://127.0.0.1:1\"", "feeds[1].address: tcp://127.0.0.1:1 is already the address"),
        ("[[feeds]]\naddress = \"tcp://h:1\"\nname = \"a b\"", "feeds[0].name (line 3): \"a b\" must be"),
        ("[[feeds]]\naddress = \"tcp://h:1\"\nreconnect_initial = \"5s\"\nreconnect_max = \"1s\"", "feeds[0].reconnect_max (line 4): must not be shorter"),
        ("[[feeds]]\naddress = \"tcp://h:1\"\nport = 5", "unknown key feeds[0].port (line 3)"),
        ("[[feeds]]\nformat = \"algolab\"\naddress = \"tcp://h:1\"", "feeds[0].address (line 3): an algolab feed connects where [algolab] says; leave address out"),
        ("[[feeds]]\nformat = \"algolab\"\nrole = \"listen\"", "unknown key feeds[0].role (line 3)"),
        ("[[feeds]]\nformat = \"fix\"", "feeds[0].format (line 2): \"fix\" is not one of"),
        ("[database]\nurl = \"\"", "database.url (line 2): is empty"),
        ("[database]\npool_size = 0", "database.pool_size (line 2): 0 is out of range 1...1000"),
        ("[database]\nstatement_timeout = 5", "database.statement_timeout (line 2): expected a duration string"),
        ("[http]\naddress = \"localhost\"", "http.address (line 2): \"localhost\" is not HOST:PORT"),
        ("[http]\naddress = \"127.0.0.1:70000\"", "http.address (line 2):"),
        ("[store]\nwriter_id = \"a b\"", "store.writer_id (line 2): \"a b\" must be 1 to 64 characters"),
        ("[store]\nspool_max_mb = 64\nspool_segment_mb = 64", "store.spool_segment_mb (line 3): 64 MiB is more than half of spool_max_mb"),
        ("[store]\nretention_days = 7\ncompress_after_days = 10", "store.compress_after_days (line 3): 10 is after retention_days (7)"),
        ("[store]\nflush_interval = \"0s\"", "store.flush_interval (line 2):"),
        ("[aggregator]\ngrace = \"10s\"\nallowed_lateness = \"5s\"", "aggregator.allowed_lateness (line 3): must not be shorter than grace"),
        ("[aggregator]\nsnapshot_interval = \"10ms\"", "aggregator.snapshot_interval (line 2): 10ms is out of range"),
        ("[calendar]\nsessions = [\"10:00 continuous\"]", "calendar.sessions (line 2): must end with a \"closed\" entry"),
        ("[calendar]\nsessions = [\"10:00 continuous\", \"9:00 closed\"]", "calendar.sessions (line 2): \"9:00 closed\" is not \"HH:MM phase\""),
        ("[calendar]\nsessions = [\"10:00 continuous\", \"09:00 closed\"]", "calendar.sessions (line 2): 09:00 closed is not later"),
        ("[calendar]\nsessions = [\"10:00 lunch\", \"18:00 closed\"]", "calendar.sessions (line 2): \"lunch\" is not one of"),
        ("[calendar]\nholidays = [\"2025-02-30\"]", "calendar.holidays (line 2): \"2025-02-30\" is not a date"),
        ("[[feeds]]\naddress = \"tcp://127.0.0.1:1\"\nformat = \"bist-itch\"", "feeds[0].address (line 2): a bist-itch feed is MoldUDP64 over UDP"),
        ("[[feeds]]\naddress = \"udp://239.1.1.1:1\"\nformat = \"bist-itch\"\nrewinder = \"tcp://10.0.0.1:5\"", "feeds[0].rewinder (line 4): the retransmission server is reached over UDP"),
        ("[[feeds]]\naddress = \"udp://239.1.1.1:1\"\nformat = \"bist-itch\"\nrecovery_share = 1.5", "feeds[0].recovery_share (line 4): 1.5 is out of range"),
        ("[[feeds]]\naddress = \"udp://239.1.1.1:1\"\nformat = \"bist-itch\"\nseconds = \"noon\"", "feeds[0].seconds (line 4): \"noon\" is not one of \"epoch\", \"midnight\""),
        ("[[feeds]]\naddress = \"udp://239.1.1.1:1\"\nrewinder = \"udp://10.0.0.1:5\"", "unknown key feeds[0].rewinder"),
        ("serve = 1", "serve (line 1): expected a table"),
        ("a = [", "TOML syntax error at line 1"),
    ])
    func badConfigurationsNameTheKey(text: String, message: String) {
        #expect { try AkisConfiguration.parse(text) } throws: { error in
            let d = "\(error)"
            if !d.contains(message) { print("got: \(d)") }
            return d.contains(message)
        }
    }
}

@Test func anExchangeFeedReadsItsRecoverySettings() throws {
    let c = try AkisConfiguration.parse("""
        [[feeds]]
        name = "bist"
        address = "udp://239.1.1.1:21001"
        format = "bist-itch"
        multicast_interface = "10.1.2.3"
        rewinder = "udp://10.9.9.9:21002"
        recovery_requests = 500
        recovery_share = 0.03
        recovery_messages_per_request = 200
        recovery_timeout = "250ms"
        recovery_attempts = 2
        seconds = "midnight"
        stale_after = "3s"
        depth_levels = 5
        depth_interval = "250ms"
        """)
    let x = try #require(c.feeds.first).exchange
    #expect(c.feeds[0].format == .bistITCH && c.feeds[0].multicastInterface == "10.1.2.3")
    #expect(x.rewinder == FeedAddress(transport: .udp, host: "10.9.9.9", port: 21002))
    #expect(x.recovery == .init(requestsPerSession: 500, maximumRecoveredShare: 0.03, messagesPerRequest: 200, timeoutNanos: 250_000_000, attempts: 2))
    #expect(x.secondsBase == .midnight && x.staleAfterNanos == 3_000_000_000)
    #expect(x.depthLevels == 5 && x.depthIntervalNanos == 250_000_000)
    let plain = try AkisConfiguration.parse("[[feeds]]\naddress = \"udp://239.1.1.1:21001\"\nformat = \"bist-itch\"").feeds[0].exchange
    #expect(plain == ExchangeFeedOptions() && plain.rewinder == nil && plain.recovery.requestsPerSession == 9_999)
}

@Test func theUniverseMayTakeTheExchangesInstruments() throws {
    #expect(try AkisConfiguration.parse("[market]\nsymbols = [\"GARAN\"]\nsymbols_from_exchange = true").symbolsFromExchange)
    #expect(try !AkisConfiguration.parse("[market]\nsymbols = [\"GARAN\"]").symbolsFromExchange)
    #expect { try AkisConfiguration.parse("[market]\nsymbols_from_exchange = \"yes\"") } throws: { "\($0)".contains("market.symbols_from_exchange (line 2): expected true or false") }
}

/// A module's own table, read with the rest of the file into the one configuration.
@Suite struct ModuleSettingsTests {
    struct Relay: ModuleSettings {
        static let section = "relay"
        var brokers = ["127.0.0.1:9092"]
        var lingerNanos: Int64 = 5_000_000
        init() {}
        mutating func read(_ section: inout ConfigSection) throws(ConfigError) {
            brokers = try section.stringArray("brokers") ?? brokers
            guard !brokers.isEmpty else { throw section.fail("brokers", "the list is empty") }
            lingerNanos = try section.duration("linger", default: lingerNanos, in: 0...1_000_000_000)
        }
        var summary: String { "\(brokers.count) brokers, linger \(lingerNanos / 1_000_000) ms" }
    }

    @Test func aModuleTableIsReadWithTheRestOfTheFile() throws {
        let c = try AkisConfiguration.parse("[serve]\nstats_interval = \"1s\"\n[relay]\nbrokers = [\"a:1\", \"b:2\"]\nlinger = \"20ms\"", modules: [Relay.self])
        #expect(c.settings(Relay.self).brokers == ["a:1", "b:2"] && c.settings(Relay.self).lingerNanos == 20_000_000)
        #expect(c.statsIntervalNanos == 1_000_000_000)
        #expect(try AkisConfiguration.parse("", modules: [Relay.self]).settings(Relay.self).brokers == ["127.0.0.1:9092"], "defaults without the table")
    }

    @Test func aModuleTableIsAsStrictAsTheRest() {
        for (text, message) in [
            ("[relay]\nbrokers = []", "relay.brokers (line 2): the list is empty"),
            ("[relay]\nlinger = \"2s\"", "relay.linger (line 2): 2s is out of range"),
            ("[relay]\nbroker = [\"a:1\"]", "unknown key relay.broker (line 2)"),
        ] {
            #expect { try AkisConfiguration.parse(text, modules: [Relay.self]) } throws: { "\($0)".contains(message) }
        }
        // Without the module that owns it, the table is unknown.
        #expect { try AkisConfiguration.parse("[relay]\nlinger = \"1s\"") } throws: { "\($0)".contains("unknown key relay (line 1)") }
    }
}
