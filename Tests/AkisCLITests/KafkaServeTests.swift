import Events
import Foundation
import Ingest
import Store
import TestSupport
import Testing

/// `akis serve` with `[kafka] brokers`, against a tansu broker: the market lane and the relay.
/// These are tests of the `AkisCLITests` suite, under its `.timeLimit(.minutes(10))`; every wait
/// in them has its own deadline besides.
extension AkisCLITests {
    /// Every tick of `recording` (feed 1), decoded independently of the daemon.
    func recordedTicks(_ recording: String) throws -> [Tick] {
        var ticks: [Tick] = []
        var decoder = FeedDecoder<BinaryFrameCodec>(context: DecodeContext(symbols: try SymbolTable(BISTMarket.bist30), feed: 1))
        try RecordingReader(path: recording).forEachRecord { _, payload in payload.withUnsafeBytes { decoder.decode($0, receiveTime: 0) { ticks.append($0) } } }
        return ticks
    }

    /// The market lane's tick messages in `market-events`: each (feed 1) sequence number once at
    /// least, keyed by its symbol, a key's ticks in sequence order within its partition.
    func expectEveryTick(_ ticks: [Tick], in broker: TestKafkaBroker, from serve: AkisProcess) throws {
        let symbols = try SymbolTable(BISTMarket.bist30)
        let records: [TestKafkaBroker.Record]
        do {
            records = try broker.read(Topic.market.rawValue, count: ticks.count, containing: #""kind":""#, seconds: 120)
        } catch {
            let said = serve.log.split(separator: "\n").filter { $0.contains("kafka: the") || $0.contains("stopped") }.suffix(20)
            Issue.record("\(String("\(error)".prefix(300)))\ndaemon said:\n\(said.joined(separator: "\n"))")
            return
        }
        let bySeq = Dictionary(ticks.map { ($0.sequence, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<UInt64>()
        var last: [String: (partition: Int, seq: UInt64)] = [:]
        var wrong: [String] = []
        for r in records.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(r.value.utf8)) as? [String: Any])
            let data = try #require(o["data"] as? [String: Any])
            let seq = UInt64(try #require(data["seq"] as? Int))
            let symbol = try #require(data["symbol"] as? String)
            guard let tick = bySeq[seq] else { wrong.append("unknown seq \(seq)"); continue }
            if symbols.name(of: tick.symbol) != symbol || r.key != symbol { wrong.append("seq \(seq): \(symbol), key \(r.key ?? "none")") }
            if "\(data["price"] ?? "")" != "\(tick.price)" && (data["price"] as? NSNumber)?.stringValue != "\(tick.price)" {
                // JSONSerialization reads decimals as Double: compare as numbers.
                if abs(((data["price"] as? Double) ?? -1) - Double(tick.price.units) / 1e6) > 1e-9 { wrong.append("seq \(seq): price \(data["price"] ?? "")") }
            }
            if o["eventType"] as? String != "MarketDataReceived" || data["volume"] as? Int != Int(tick.quantity) { wrong.append("seq \(seq): \(r.value)") }
            if let l = last[symbol], seen.contains(seq) == false, l.seq > seq, l.partition == r.partition { wrong.append("\(symbol): \(seq) after \(l.seq)") }
            if !seen.contains(seq) { last[symbol] = (r.partition, seq) }
            seen.insert(seq)
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(seen == Set(bySeq.keys), "\(bySeq.count - seen.count) ticks missing")
    }

    /// The relay's events of `market-events` (the MarketDataReceived summaries, the session's
    /// changes: key BIST): each stored one reached Kafka, byte for byte.
    func expectEveryStoredEvent(_ url: String, in broker: TestKafkaBroker) throws {
        let stored = try LibpqConnection(conninfo: url).execute(
            "SELECT convert_from(envelope, 'UTF8') FROM event_store WHERE topic = 'market-events' AND partition_key = 'BIST' ORDER BY seq").rows.compactMap { $0[0] }
        #expect(stored.count > 0)
        let records = try broker.read(Topic.market.rawValue, count: stored.count, key: "BIST", seconds: 60)
        #expect(Set(records.map(\.value)) == Set(stored))
        #expect(records.allSatisfy { $0.key == "BIST" })
    }

    func relayPosition(_ url: String) throws -> Int64 {
        Int64(try LibpqConnection(conninfo: url).execute(
            "SELECT coalesce(max(position), 0) FROM event_consumer_positions WHERE consumer = 'kafka-relay' AND topic = 'market-events'").rows[0][0] ?? "") ?? 0
    }

    func kafkaConfig(_ url: String, _ broker: String, flush: String = "100ms", spool: String = scratchFile("spool")) -> String {
        """
        [database]
        url = "\(url)"
        [store]
        spool_directory = "\(spool)"
        flush_interval = "\(flush)"
        retention_days = 36500
        [kafka]
        brokers = ["\(broker)"]
        """
    }

    /// The issue's relay test: the bundled sample through `serve` with Kafka on; every tick reaches
    /// `market-events` keyed by symbol, and every stored event through the relay.
    @Test func serveSendsEveryTickOfTheSampleAndEveryEventToKafka() throws {
        let broker = try TestKafkaBroker(topics: Topic.allCases.map { ($0.rawValue, $0.partitions) })
        try withScratchDatabase { url in
            let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: kafkaConfig(url, broker.address))
            let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
            #expect(try akis("replay", sample, "--to", address, "--speed", "max").status == 0)
            waitForLog(serve, "stored 59,705")
            try expectEveryTick(try recordedTicks(sample), in: broker, from: serve)
            let deadline = Date().addingTimeInterval(30)
            let events = Int64(try LibpqConnection(conninfo: url).execute("SELECT count(*) FROM event_store WHERE topic = 'market-events'").rows[0][0] ?? "") ?? 0
            while try relayPosition(url) < events && Date() < deadline { sleepBlocking(.microseconds(50_000)) }
            try expectEveryStoredEvent(url, in: broker)
            let metrics = try httpGet(http, "/metrics").body
            #expect(metrics.contains("akis_events_relayed_total \(events)"), "\(metrics.split(separator: "\n").filter { $0.contains("relay") })")
            #expect(metrics.contains("akis_kafka_market_delivered_total"))
            let (_, result) = stopServe(serve, after: "stored 59,705")
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    /// Instruments a `bist-itch` feed announces join the symbols while the daemon runs
    /// (`symbols_from_exchange`): their ticks reach `market-events` keyed by their names too.
    @Test func joinedSymbolsTicksReachKafkaUnderTheirNames() throws {
        let broker = try TestKafkaBroker(topics: Topic.allCases.map { ($0.rawValue, $0.partitions) })
        try withScratchDatabase { url in
            let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 5_000, rate: 5_000, seed: 11))
            let recording = scratchFile("bist.akrec")
            #expect(try akis("synth", "--format", "bist-itch", "--symbols", "8", "--rate", "5000", "--duration", "1s", "--seed", "11", "--out", recording).status == 0)
            // The ticks the daemon numbers 1, 2, … as the books make them.
            var books = BISTOrderBooks(symbols: try SymbolTable(BISTMarket.bist30), feed: 1)
            books.startSession(now: 0)
            var ticks: [Tick] = []
            for m in session.messages {
                m.withUnsafeBytes { books.apply(try! BISTITCH.decode($0).get(), receiveTime: 0) { t in
                    var t = t
                    t.sequence = UInt64(ticks.count + 1)
                    ticks.append(t)
                } }
            }
            let six = BISTMarket.bist30.prefix(6).map { "\"\($0)\"" }.joined(separator: ", ")
            let (serve, address, _) = try startServe("address = \"udp://239.77.3.4:0\"\nformat = \"bist-itch\"\nmulticast_interface = \"127.0.0.1\"",
                                                     extra: kafkaConfig(url, broker.address) + "\n[market]\nsymbols = [\(six)]\nsymbols_from_exchange = true")
            #expect(try akis("replay", recording, "--to", address, "--multicast-interface", "127.0.0.1", "--speed", "max").status == 0)
            waitForLog(serve, "stored \(grouped(UInt64(ticks.count)))")
            #expect(Set(ticks.map(\.symbol)).count == 8)
            try expectEveryTick(ticks, in: broker, from: serve)
            let (_, result) = stopServe(serve, after: "stored \(grouped(UInt64(ticks.count)))")
            #expect(result.status == 0 && result.stderr.contains("join the symbols (symbols_from_exchange): ENKAI, EREGL"), "\(result.stderr.suffix(2000))")
        }
    }

    /// The issue's crash test: SIGKILL after batches (and their events) were committed and before
    /// the relay and the lane delivered them (Kafka is unreachable for the first run); after a
    /// restart every event and every tick reaches Kafka, and a second delivery of one is byte for
    /// byte the first (same eventId).
    @Test func aDaemonKilledBeforeItRelayedLosesNothingToKafka() throws {
        let broker = try TestKafkaBroker(topics: Topic.allCases.map { ($0.rawValue, $0.partitions) })
        try withScratchDatabase { url in
            let recording = scratchFile("kafka-crash.akrec")
            #expect(try akis("synth", "--symbols", "30", "--rate", "2000", "--duration", "60", "--out", recording).status == 0)
            let ticks = try recordedTicks(recording)
            let spool = scratchFile("spool")
            let unreachable = try Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0)).boundAddress.port
            let (serve, address, _) = try startServe("address = \"tcp://127.0.0.1:0\"",
                                                     extra: kafkaConfig(url, "127.0.0.1:\(unreachable)", flush: "20ms", spool: spool))
            let replay = try AkisProcess(["replay", recording, "--to", address, "--speed", "max"])
            let db = try LibpqConnection(conninfo: url)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, (try? db.execute("SELECT count(*) FROM market_ticks").rows[0][0].flatMap { Int($0) }) ?? 0 < ticks.count / 2 {
                sleepBlocking(.microseconds(2_000))
            }
            kill(serve.process.processIdentifier, SIGKILL)
            _ = serve.wait()
            _ = replay.wait()
            let stored = Int64(try db.execute("SELECT count(*) FROM event_store WHERE topic = 'market-events'").rows[0][0] ?? "") ?? 0
            let relayed = try relayPosition(url)
            #expect(stored > 0 && relayed == 0, "nothing relayed before the kill: \(relayed) of \(stored)")

            let (again, address2, _) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: kafkaConfig(url, broker.address, flush: "20ms", spool: spool))
            #expect(try akis("replay", recording, "--to", address2, "--speed", "max").status == 0)
            let drained = Date().addingTimeInterval(60)
            while Date() < drained, (try? db.execute("SELECT count(*) FROM market_ticks").rows[0][0].flatMap { Int($0) }) ?? 0 < ticks.count {
                sleepBlocking(.microseconds(20_000))
            }
            try expectEveryTick(ticks, in: broker, from: again)
            let all = Int64(try db.execute("SELECT count(*) FROM event_store WHERE topic = 'market-events'").rows[0][0] ?? "") ?? 0
            let relayDeadline = Date().addingTimeInterval(30)
            while try relayPosition(url) < all && Date() < relayDeadline { sleepBlocking(.microseconds(50_000)) }
            try expectEveryStoredEvent(url, in: broker)
            let (_, result) = stopServe(again, after: "stored ")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("kafka: the market lane catches up from the store"), "\(result.stderr)")
        }
    }
}

extension AkisCLITests {
    /// A Kafka lane too small for the feed drops (the pipeline never waits for it), then catches
    /// up from the stored ticks: ingest is not held, and still every tick reaches Kafka.
    @Test func aFullKafkaLaneDropsAndCatchesUpFromTheStore() throws {
        let broker = try TestKafkaBroker(topics: Topic.allCases.map { ($0.rawValue, $0.partitions) })
        try withScratchDatabase { url in
            let recording = scratchFile("kafka-full.akrec")
            #expect(try akis("synth", "--symbols", "30", "--rate", "5000", "--duration", "40", "--out", recording).status == 0)
            let ticks = try recordedTicks(recording)
            let config = kafkaConfig(url, broker.address) + "\nmarket_lane_capacity = 1024\n"
            let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: config)
            // Live first (its start is a catch-up from the store, and drops during a catch-up are
            // part of it, not a fall behind): the lane runs only on CPU time ingest leaves, which a
            // busy test machine may not leave for a while.
            let live = Date().addingTimeInterval(60)
            while Date() < live, !(try httpGet(http, "/metrics").body.split(separator: "\n").contains { $0.hasPrefix("akis_kafka_market_catching_up 0") }) {
                sleepBlocking(.microseconds(50_000))
            }
            #expect(try akis("replay", recording, "--to", address, "--speed", "max").status == 0)
            waitForLog(serve, "stored \(ticks.count.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US"))))")
            try expectEveryTick(ticks, in: broker, from: serve)
            let metrics = try httpGet(http, "/metrics").body.split(separator: "\n")
            let dropped = metrics.first { $0.hasPrefix("akis_lane_dropped_total{lane=\"kafka\"}") }.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
            let behind = metrics.first { $0.hasPrefix("akis_kafka_market_fell_behind_total") }.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
            let caughtUp = metrics.first { $0.hasPrefix("akis_kafka_market_caught_up_total") }.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
            #expect(dropped > 0 && behind > 0 && caughtUp >= dropped, "dropped \(dropped), fell behind \(behind) times, caught up \(caughtUp)")
            let storeWaits = metrics.first { $0.hasPrefix("akis_lane_full_waits_total{lane=\"kafka\"}") }.flatMap { $0.split(separator: " ").last }
            #expect(storeWaits == nil || storeWaits == "0", "the pipeline never waits for the Kafka lane")
            let (_, result) = stopServe(serve, after: "stored ")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("kafka: the market lane fell behind (its ring was full)"), "\(result.stderr)")
        }
    }
}
