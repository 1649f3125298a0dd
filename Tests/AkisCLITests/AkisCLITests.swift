import Events
import Foundation
import HummingbirdWSClient
import Ingest
import Logging
import Synchronization
import Store
import TestSupport
import Testing

/// The `akis` executable built next to this test bundle.
let akisBinary: String = {
    if let path = ProcessInfo.processInfo.environment["AKIS_BINARY"] { return path }
    let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("akis").path
    if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/akis").path
}()

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A running `akis` process with its output captured to files.
/// Used from one test at a time; `@unchecked` so that its wait can run on a thread of its own.
final class AkisProcess: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String

    /// `input`: written to its standard input, which is then closed (nil: it inherits ours).
    init(_ arguments: [String], executable: String = akisBinary, environment: [String: String] = [:], input: String? = nil) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        outPath = dir.appendingPathComponent("stdout").path
        errPath = dir.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let pipe = input.map { _ in Pipe() }
        if let pipe { process.standardInput = pipe }
        try process.run()
        if let pipe, let input {
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        }
    }

    /// A test that fails before it stops its process does not leave it running.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// What it has written to stderr so far.
    var log: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits until it has written `count` lines to stdout.
    func waitForLines(_ count: Int, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "").split(separator: "\n").count < count {
            guard Date() < deadline, process.isRunning else { throw CLIFailure("\(count) lines expected from \(process.executableURL!.path): \(wait(timeoutSeconds: 0))") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func wait(timeoutSeconds: Double = 60) -> RunResult {
        expectOffThePool("waiting for akis \(process.arguments?.first ?? "")")
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { sleepBlocking(.microseconds(20_000)) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }  // blocking-checked
        process.waitUntilExit()  // blocking-checked
        return RunResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

func akis(_ arguments: String...) throws -> RunResult { try AkisProcess(arguments).wait() }

func scratchFile(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-cli-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite(.offThePool, .serialized, .timeLimit(.minutes(10))) struct AkisCLITests {
    @Test func badOptionsGiveSpecificMessages() throws {
        let synth = try akis("synth", "--symbols", "99", "--out", scratchFile("x.akrec"))
        #expect(synth.status != 0)
        #expect(synth.stderr.contains("--symbols must be between 1 and 30"))

        let wss = try akis("subscribe", "wss://127.0.0.1:1/ws/market-data", "GARAN")
        #expect(wss.status != 0 && wss.stderr.contains("the URL must start with ws://"), "\(wss.stderr)")
        let refused = try akis("subscribe", "ws://127.0.0.1:1/ws/market-data", "GARAN")
        #expect(refused.status == 1 && refused.stderr.contains("ws://127.0.0.1:1/ws/market-data: "), "\(refused.stderr)")

        let speed = try akis("replay", "nothing.akrec", "--to", "tcp://127.0.0.1:1", "--speed", "fast")
        #expect(speed.status != 0)
        #expect(speed.stderr.contains("--speed must be a positive number or 'max'"))

        let config = scratchFile("bad.toml")
        try "[[feeds]]\naddress = \"127.0.0.1:9000\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let address = try akis("serve", "--config", config)
        #expect(address.status != 0)
        #expect(address.stderr.contains("bad.toml: feeds[0].address (line 2): bad feed address"))
        #expect(address.stderr.contains("expected tcp://HOST:PORT or udp://HOST:PORT"))

        try "[reader]\nbufer_size = 4096\n".write(toFile: config, atomically: true, encoding: .utf8)
        let unknown = try akis("serve", "--config", config)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown key reader.bufer_size (line 2)"))

        let absent = try akis("serve", "--config", "/nonexistent/akis.toml")
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("cannot read the configuration file /nonexistent/akis.toml"))

        try "[market]\nsymbols = [\"AKBNK\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let check = try akis("serve", "--config", config, "--check-config")
        #expect(check.status == 0)
        #expect(check.stdout.contains("configuration is valid"))
        #expect(check.stdout.contains("feed main: id 1, listen tcp://127.0.0.1:7400, binary"))

        let missing = try akis("replay", "/nonexistent/feed.akrec", "--to", "tcp://127.0.0.1:1")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/feed.akrec: open failed: No such file"))
    }

    @Test func synthRefusesToOverwriteWithoutForce() throws {
        let path = scratchFile("s.akrec")
        #expect(try akis("synth", "--symbols", "2", "--duration", "1", "--out", path).status == 0)
        let again = try akis("synth", "--symbols", "2", "--duration", "1", "--out", path)
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists (pass --force"))
        #expect(try akis("synth", "--symbols", "2", "--duration", "1", "--out", path, "--force").status == 0)
    }

    @Test func replayOfACorruptRecordingSendsEverythingBeforeTheDamage() throws {
        let path = scratchFile("c.akrec")
        #expect(try akis("synth", "--symbols", "5", "--rate", "50000", "--duration", "10", "--out", path).status == 0)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count * 3 / 4] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: path))
        let out = scratchFile("captured.akrec")
        let recorder = try AkisProcess(["record", "--listen", "tcp://127.0.0.1:0", "--out", out, "--duration", "30s"])
        let port = try waitForBoundPort(recorder)
        let replay = try akis("replay", path, "--to", "tcp://127.0.0.1:\(port)", "--speed", "max")
        #expect(replay.status != 0)
        #expect(replay.stderr.contains("corrupt data at byte offset"))
        #expect(replay.stderr.contains("replay stopped after"))
        // Stop the recorder only once it has read the whole stream (the sender's close).
        let deadline = Date().addingTimeInterval(30)
        while !((try? String(contentsOfFile: recorder.errPath, encoding: .utf8)) ?? "").contains("sender disconnected") && Date() < deadline {
            sleepBlocking(.microseconds(20_000))
        }
        recorder.process.interrupt()
        let recorded = recorder.wait()
        #expect(recorded.status == 0)
        var captured = 0
        try RecordingReader(path: out).forEachRecord { _, payload in captured += payload.count }
        #expect(captured > 0, "records before the damaged block were sent")
        #expect(captured % BinaryFrameCodec.frameSizeV1 == 0)
    }

    /// Starts `akis serve` on a one-feed configuration; returns the process, the feed's address
    /// and the HTTP address.
    func startServe(_ feed: String, extra: String = "") throws -> (AkisProcess, String, String) {
        let config = scratchFile("akis.toml")
        try """
            [serve]
            stats_interval = "500ms"
            [http]
            address = "127.0.0.1:0"
            \(extra)
            [[feeds]]
            name = "e2e"
            \(feed)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let ready = scratchFile("ready")
        let serve = try AkisProcess(["serve", "--config", config, "--ready-file", ready])
        let deadline = Date().addingTimeInterval(30)
        while (try? String(contentsOfFile: ready, encoding: .utf8))?.isEmpty ?? true {
            if Date() > deadline || !serve.process.isRunning { throw CLIFailure("serve did not start: \(serve.wait().stderr)") }
            sleepBlocking(.microseconds(20_000))
        }
        let lines = try String(contentsOfFile: ready, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        guard let feed = lines.first(where: { $0.first == "feed" }), feed.count == 3, feed[1] == "e2e",
              let http = lines.first(where: { $0.first == "http" }), http.count == 2 else {
            throw CLIFailure("unexpected ready file: \(lines)")
        }
        return (serve, feed[2], http[1])
    }

    func waitForLog(_ serve: AkisProcess, _ text: String) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: serve.errPath, encoding: .utf8)) ?? ""
            if log.contains(text) { return }
            sleepBlocking(.microseconds(50_000))
        }
    }

    /// Waits until the serve log shows `text`, then stops it with SIGTERM; returns the "stopped:" line.
    func stopServe(_ serve: AkisProcess, after text: String) -> (String, RunResult) {
        waitForLog(serve, text)
        serve.process.terminate()  // SIGTERM
        let result = serve.wait()
        let stopped = result.stderr.split(separator: "\n").first { $0.contains("stopped:") }.map(String.init) ?? ""
        return (stopped, result)
    }

    /// What the pipeline must receive from a recording: tick count and sequence checksum.
    func expectedChecksum(_ path: String, feed: UInt16) throws -> SequenceChecksum {
        var checksum = SequenceChecksum()
        var decoder = FeedDecoder<BinaryFrameCodec>(context: DecodeContext(symbols: try SymbolTable(BISTMarket.bist30), feed: feed))
        try RecordingReader(path: path).forEachRecord { _, payload in
            payload.withUnsafeBytes { decoder.decode($0, receiveTime: 0) { checksum.add(feed: $0.feed, sequence: $0.sequence) } }
        }
        return checksum
    }

    /// The README's main job, end to end: serve, replay the bundled sample over TCP at full speed,
    /// stop with SIGTERM; every tick reaches the pipeline's consumers.
    @Test func serveIngestsTheBundledSampleOverTCPAndStopsCleanly() throws {
        let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"")
        let health = try httpGet(http, "/healthz")
        #expect(health.status == 200 && health.body == "ok\n")
        #expect(try httpGet(http, "/readyz").status == 200)
        #expect(try httpGet(http, "/nothing").status == 404)
        let noHistory = try httpGet(http, "/api/market/ticks?symbol=GARAN")
        #expect(noHistory.status == 503 && noHistory.body.contains("no database is configured"), "\(noHistory)")
        #expect(try httpGet(http, "/api/market/ticks?symbol=garan%20x").status == 400, "input is checked before the database")
        let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
        let replay = try akis("replay", sample, "--to", address, "--speed", "max")
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("replayed 59,705 records"))
        waitForLog(serve, "delivered store 59,705")
        let metrics = try httpGet(http, "/metrics")
        #expect(metrics.status == 200)
        for line in [#"akis_feed_ticks_total{feed="e2e"} 59705"#, #"akis_lane_delivered_total{lane="store"} 59705"#,
                     #"akis_sequence_duplicates_total{feed="e2e"} 0"#, #"akis_lane_dropped_total{lane="fanout"} 0"#,
                     #"akis_reader_receive_path_info{reader="1",path="io_uring-multishot"} 1.0"#,
                     #"akis_feed_rejected_total{feed="e2e",reason="unknown_symbol"} 0"#] {
            #expect(metrics.body.contains(line + "\n"), "\(line)")
        }
        let (stopped, result) = stopServe(serve, after: "delivered store 59,705")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(stopped.contains("decoded 59,705;"))
        #expect(stopped.contains("rejected 0;"))
        #expect(stopped.contains("duplicates 0; gaps 0 (0 missing"))
        #expect(stopped.contains("delivered store 59,705, fanout 59,705"))
        #expect(stopped.contains("dropped 0;"))
        let expected = try expectedChecksum(sample, feed: 1)
        #expect(expected.count == 59_705)
        #expect(stopped.contains("store checksum \(expected)"), "\(stopped)")
        #expect(result.stderr.contains("receives with io_uring multishot receive into provided buffers"))
        #expect(result.stderr.contains("feed e2e: 59,705 ticks, 0 rejected, 1 connections"))
    }

    /// A quiet feed makes a quiet journal: the summary line (every 500 ms here) is logged when
    /// something changed, not again and again unchanged.
    @Test func anIdleDaemonDoesNotRepeatItsSummary() throws {
        let (serve, address, _) = try startServe("address = \"tcp://127.0.0.1:0\"")
        func summaries(_ text: String) -> Int {
            serve.log.split(separator: "\n").filter { $0.contains("[akis] received ") && $0.contains(text) && !$0.contains("stopped:") }.count
        }
        sleepBlocking(.seconds(3))
        #expect(summaries("decoded 0;") == 1, "one line for the idle start, not one every 500 ms: \(serve.log)")
        let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
        #expect(try akis("replay", sample, "--to", address, "--speed", "max").status == 0)
        waitForLog(serve, "delivered store 59,705")
        sleepBlocking(.seconds(3))
        // The final counts may take a few intervals to settle on a busy machine (decoded, then
        // delivered, then stored): each line says something new, none repeats the one before.
        let lines = serve.log.split(separator: "\n").filter { $0.contains("[akis] received ") && !$0.contains("stopped:") }
            .map { line in line[line.range(of: "[akis] received ")!.lowerBound...].components(separatedBy: "; rate ")[0] }
        #expect(summaries("decoded 59,705;") >= 1, "\(serve.log)")
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0 != $1 }, "a summary repeated unchanged: \(lines.joined(separator: "\n"))")
        let (_, result) = stopServe(serve, after: "delivered store 59,705")
        #expect(result.status == 0)
    }

    /// A database that is down when the daemon starts does not stop it: the feed is taken in and
    /// fanned out, ticks are spooled, /readyz says what is missing, and once PostgreSQL is up
    /// the schema is migrated and everything is stored exactly once.
    @Test func serveStartsWithItsDatabaseDownAndStoresEverythingOnceItIsBack() async throws {
        let timescale = ProcessInfo.processInfo.environment["AKIS_PG_TIMESCALEDB"] == "1"
        let directory = scratchFile("pg-later")
        let pg = try PrivatePostgres.start(directory: directory, timescaleDB: timescale) { _ in }
        pg.stop()
        defer { pg.stop() }
        let storeConfig = "[database]\nurl = \"\(pg.conninfo)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
        let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
        #expect(serve.log.contains("database: unreachable"), "\(serve.log)")
        let down = try await httpGet(http, "/readyz")
        #expect(down.status == 503 && down.body.hasPrefix("database: unreachable"), "\(down)")
        let history = try await httpGet(http, "/api/market/ticks?symbol=GARAN&from=2024-09-24T07:00:00Z&to=2024-09-25T00:00:00Z")
        #expect(history.status == 503 && history.body.contains("history is unavailable: the database is unavailable"), "\(history)")

        let ws = "ws://\(http)/ws/market-data"
        let counter = try AkisProcess(["subscribe", "--count", ws, "GARAN"])
        try await waitUntil("the subscriber's first messages: \(counter.log)", within: .seconds(60)) { counter.log.contains("received 2 messages") }
        let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
        #expect(try akis("replay", sample, "--to", address, "--speed", "max").status == 0)
        try await eventually("the sample to be spooled", within: .seconds(60)) {
            let metrics = try await httpGet(http, "/metrics").body
            return metrics.contains("akis_lane_delivered_total{lane=\"fanout\"} 59705") && !metrics.contains("akis_store_spooled_batches_total 0")
        }
        #expect(try await httpGet(http, "/metrics").body.contains("akis_store_ticks_total 0"))

        _ = try PrivatePostgres.start(directory: directory, timescaleDB: timescale) { _ in }
        try await waitUntil("the spool to be stored: \(serve.log.suffix(600))", within: .seconds(60)) { serve.log.contains("stored 59,705 in") }
        #expect(try await httpGet(http, "/readyz") == (200, "ready\n"))
        #expect(serve.log.contains("database: applying market migration 1"))
        let (stopped, result) = stopServe(serve, after: "stored 59,705 in")
        #expect(result.status == 0 && stopped.contains("stored 59,705 in"), "\(stopped)")
        let counted = counter.wait()
        let db = try LibpqConnection(conninfo: pg.conninfo)
        #expect(try db.execute("SELECT count(*), count(DISTINCT (feed, seq)) FROM market_ticks").rows == [["59705", "59705"]])
        let garan = try db.execute("SELECT count(*) FROM market_ticks WHERE symbol = 'GARAN'").rows[0][0]!
        #expect(counted.stdout.contains("MARKET_TICK \(grouped(UInt64(garan)!))"), "every GARAN tick was fanned out while the database was down: \(counted.stdout)")
    }

    /// An HTTP port already taken stops serve with the address and the reason, after the feed
    /// threads it had started have stopped cleanly.
    @Test func aTakenHTTPPortIsReportedWithItsAddress() throws {
        let taken = try Socket.bind(FeedAddress(parsing: "tcp://127.0.0.1:0"))
        let port = taken.boundAddress.port
        let config = scratchFile("akis.toml")
        try "[http]\naddress = \"127.0.0.1:\(port)\"\n[[feeds]]\naddress = \"tcp://127.0.0.1:0\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try AkisProcess(["serve", "--config", config]).wait()
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot serve HTTP on 127.0.0.1:\(port): Address already in use"), "\(result.stderr)")
        #expect(result.stderr.contains("stopped: "), "the threads stopped in order")
    }

    /// The first SIGINT or SIGTERM starts the drain; the same signal again ends the process at
    /// once, the other one does not (Ctrl-C reaches a wrapper script and the daemon together, and
    /// the script's SIGTERM follows). Here the drain waits (up to 5 s) for a WebSocket client that
    /// never answers the close.
    @Test func theSameSignalAgainStopsAtOnceTheOtherOneDoesNot() throws {
        let (serve, _, http) = try startServe("address = \"tcp://127.0.0.1:0\"")
        let port = UInt16(http.split(separator: ":").last!)!
        let socket = try Socket.connect(to: FeedAddress(transport: .tcp, host: "127.0.0.1", port: port))
        let request = "GET /ws/market-data HTTP/1.1\r\nHost: \(http)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try Array(request.utf8).withUnsafeBytes { try socket.send($0) }
        #expect(try socket.waitReadable(timeoutMillis: 10_000), "the upgrade's answer")
        serve.process.interrupt()  // SIGINT
        waitForLog(serve, "received SIGINT: draining and stopping")
        serve.process.terminate()  // SIGTERM, as a wrapper script sends
        waitForLog(serve, "received SIGTERM: already draining")
        sleepBlocking(.microseconds(300_000))
        #expect(serve.process.isRunning, "still draining: the client has not answered the close")
        let second = Date()
        serve.process.terminate()
        let result = serve.wait(timeoutSeconds: 10)
        #expect(Date().timeIntervalSince(second) < 2, "the same signal again does not wait for the drain")
        #expect(result.status == 128 + SIGTERM, "\(result.status)")
        #expect(result.stderr.contains("received SIGTERM again: exiting without draining"), "\(result.stderr)")
        _ = socket
    }

    /// `akis audit verify` over a database `akis migrate` made: intact chains pass with their
    /// counts; a changed event fails with status 1, naming its topic and sequence number.
    @Test func auditVerifyNamesTheFirstBrokenLink() async throws {
        try await withScratchDatabase { url in
            #expect(try akis("migrate", "--database", url).stdout.contains("events: applying migration 1"))
            let store = EventStore()
            let logger = Logger(label: "cli-test")
            try await withPool(url) { client in
                for n in 1...12 {
                    _ = try await client.withTransaction(logger: logger) { c in
                        try await store.append([Event(.orderCreated, key: "u-1", data: [("orderId", .string("o-\(n)"))]),
                                                Event(.userLoggedIn, key: "u-1", data: [("userId", .string("u-1"))])], on: c, logger: logger)
                    }
                }
            }
            let intact = try akis("audit", "verify", "--database", url)
            #expect(intact.status == 0, "\(intact.stderr)")
            #expect(intact.stdout.contains("trading-events: 12 events verified, head at 12") && intact.stdout.contains("audit-events: 12 events verified"),
                    "\(intact.stdout)")
            #expect(intact.stdout.contains("audit chains intact (24 events in"))

            let db = try LibpqConnection(conninfo: url)
            try db.execute("ALTER TABLE event_store DISABLE TRIGGER event_store_append_only")
            try db.execute("UPDATE event_store SET envelope = convert_to(replace(convert_from(envelope, 'UTF8'), 'o-4', 'o-5'), 'UTF8') WHERE topic = 'trading-events' AND seq = 4")
            let broken = try akis("audit", "verify", "--database", url)
            #expect(broken.status == 1)
            #expect(broken.stderr.contains("trading-events: the audit chain is broken at event 4: its stored hash does not match"), "\(broken.stderr)")
            #expect(try akis("audit", "verify", "--database", url, "--topic", "audit-events").status == 0, "the other topic's chain is intact")
            let bad = try akis("audit", "verify", "--database", url, "--topic", "nope")
            #expect(bad.status != 0 && bad.stderr.contains("--topic nope is not one of user-events, trading-events"), "\(bad.stderr)")
        }
    }

    /// `akis events dlq` lists the dead letters, asks for retries and drops them; bad requests
    /// are refused with the reason.
    @Test func deadLettersAreListedRetriedAndDropped() throws {
        try withScratchDatabase { url in
            #expect(try akis("migrate", "--database", url).status == 0)
            let db = try LibpqConnection(conninfo: url)
            try db.execute("""
                INSERT INTO event_dead_letters (consumer, topic, seq, event_id, event_type, attempts, error)
                VALUES ('mail', 'user-events', 7, '1b4e28ba-2fa1-11d2-883f-0016d3cca427', 'UserRegistered', 5, 'SMTP 451: try later')
                """)
            let list = try akis("events", "dlq", "list", "--database", url)
            #expect(list.status == 0 && list.stdout.contains("1  mail  user-events #7 UserRegistered 1b4e28ba-2fa1-11d2-883f-0016d3cca427  5 attempts")
                    && list.stdout.contains("SMTP 451: try later") && list.stdout.contains("1 dead letters"), "\(list)")
            #expect(try akis("events", "dlq", "retry", "1", "--database", url).stdout.contains("1 dead letters to be retried"))
            #expect(try db.execute("SELECT retry_requested FROM event_dead_letters").rows == [["t"]])
            let unknown = try akis("events", "dlq", "retry", "1", "99", "--database", url)
            #expect(unknown.status == 1 && unknown.stderr.contains("1 of the ids given are not dead letters"), "\(unknown)")
            let neither = try akis("events", "dlq", "drop", "--database", url)
            #expect(neither.status != 0 && neither.stderr.contains("drop needs the dead letters' ids, or --all"), "\(neither)")
            #expect(try akis("events", "dlq", "drop", "--all", "--database", url).stdout.contains("1 dead letters dropped"))
            #expect(try db.execute("SELECT count(*) FROM event_dead_letters").rows == [["0"]])
        }
    }

    /// Under systemd (Type=notify, WatchdogSec): READY=1 once bound, WATCHDOG=1 while the threads
    /// turn, STOPPING=1 on SIGTERM.
    @Test func serveTalksToSystemd() throws {
        let notify = try NotifySocket()
        let config = scratchFile("akis.toml")
        try "[http]\naddress = \"127.0.0.1:0\"\n[[feeds]]\naddress = \"tcp://127.0.0.1:0\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try AkisProcess(["serve", "--config", config], environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        let first = notify.messages(for: 1.5)
        serve.process.terminate()
        let rest = notify.messages(for: 1)
        let result = serve.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(first.first?.hasPrefix("READY=1") == true, "\(first)")
        #expect(first.filter { $0 == "WATCHDOG=1" }.count >= 5, "about every 100 ms: \(first)")
        #expect(rest.contains("STOPPING=1"))
    }

    /// With a database: `serve` migrates the schema, and the replayed sample ends up in
    /// `market_ticks` row for row.
    @Test func serveStoresTheBundledSampleRowForRow() throws {
        try withScratchDatabase { url in
            let migrate = try akis("migrate", "--database", url)
            #expect(migrate.status == 0, "\(migrate.stderr)")
            #expect(migrate.stdout.contains("layout: \(try testLayout().rawValue)") && migrate.stdout.contains("applying migration 1"), "\(migrate.stdout)")
            #expect(try akis("migrate", "--database", url).stdout.contains("schema is up to date at version \(Migration.all.last!.version)"))

            // The sample is from 2024: a retention of a year (counted from today) would drop it at the restart.
            let storeConfig = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
            let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
            #expect(try akis("replay", sample, "--to", address, "--speed", "max").status == 0)
            waitForLog(serve, "stored 59,705")
            try historyIsServed(http, url)
            try latestIsServed(http, url)
            let (stopped, result) = stopServe(serve, after: "stored 59,705")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(stopped.contains("stored 59,705 in"), "\(stopped)")
            #expect(stopped.contains("(0 failed attempts, 0 rows rejected)"))
            let db = try LibpqConnection(conninfo: url)
            let (candles, mismatches) = try candlesAgainstTrades(db)
            // The sample is one minute of 30 symbols: every candle is its symbol's first (rebuilt).
            #expect(candles == 30 && mismatches.isEmpty, "\(candles) candles; mismatches: \(mismatches)")
            let rollups = try rollupsAgainstMinutes(db)
            #expect(rollups.candles == 90 && rollups.mismatches.isEmpty, "a 2024 recording is in 5m, 1h and 1d: \(rollups)")
            #expect(try db.execute("SELECT count(*) FROM market_candles WHERE session_phase IS NULL").rows == [["0"]])
            let snapshots = try db.execute("SELECT count(*), count(DISTINCT symbol) FROM order_book_snapshots").rows[0]
            #expect(snapshots[0].flatMap { Int($0) } ?? 0 >= 30 && snapshots[1] == "30", "top of book every 10 s of market time: \(snapshots)")

            // What the recording holds, decoded independently of the daemon.
            var ticks: [Tick] = []
            let symbols = try SymbolTable(BISTMarket.bist30)
            var decoder = FeedDecoder<BinaryFrameCodec>(context: DecodeContext(symbols: symbols, feed: 1))
            try RecordingReader(path: sample).forEachRecord { _, payload in payload.withUnsafeBytes { decoder.decode($0, receiveTime: 0) { ticks.append($0) } } }
            let totals = try db.execute("SELECT count(*), sum(price), sum(volume) FROM market_ticks").rows[0]
            #expect(totals == ["59705", String(ticks.reduce(0) { $0 + $1.price.units }), String(ticks.reduce(0) { $0 + $1.quantity })])
            let stored = try db.execute("SELECT symbol, min(seq), max(seq) FROM market_ticks GROUP BY 1 ORDER BY 1").rows
            let expected = Dictionary(grouping: ticks, by: { symbols.name(of: $0.symbol) }).sorted { $0.key < $1.key }
                .map { [$0.key, String($0.value.map(\.sequence).min()!), String($0.value.map(\.sequence).max()!)] as [String?] }
            #expect(stored == expected)
            #expect(try db.execute("SELECT feed, highest_seq FROM ingest_checkpoints").rows == [["1", String(ticks.map(\.sequence).max()!)]])
            // One MarketDataReceived per stored batch, committed with it: their counts add up to the
            // rows, one per batch number, and the market-events chain verifies.
            let summaries = try db.execute("""
                SELECT count(*), sum((convert_from(envelope, 'UTF8')::jsonb->'data'->>'ticks')::bigint),
                       count(DISTINCT convert_from(envelope, 'UTF8')::jsonb->'data'->>'batch'),
                       min(convert_from(envelope, 'UTF8')::jsonb->'data'->>'source'), min(partition_key)
                FROM event_store WHERE event_type = 'MarketDataReceived'
                """).rows[0]
            #expect(summaries[1] == "59705" && summaries[0] == summaries[2] && summaries[3] == "e2e" && summaries[4] == "BIST", "\(summaries)")
            #expect(try db.execute("SELECT last_batch FROM ingest_writers").rows[0][0].flatMap { Int($0) } ?? 0 >= Int(summaries[0]!)!)
            // The chain also holds the session's phase, recorded at start (TradingSessionChanged).
            let chained = try db.execute("SELECT count(*) FROM event_store WHERE topic = 'market-events'").rows[0][0]!
            #expect(Int(chained)! > Int(summaries[0]!)!)
            let audit = try akis("audit", "verify", "--database", url, "--topic", "market-events")
            #expect(audit.status == 0 && audit.stdout.contains("market-events: \(chained) events verified"), "\(audit)")

            // A restart resumes sequence tracking from the checkpoint: the same replay again is all duplicates.
            let (again, address2, http2) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            #expect(try akis("replay", sample, "--to", address2, "--speed", "max").status == 0)
            waitForLog(again, "duplicates 59,705")
            try candlesAreServedAsStored(http2, db, "GARAN")
            let (stopped2, result2) = stopServe(again, after: "duplicates 59,705")
            #expect(result2.stderr.contains("resuming sequence tracking after feed 1 at"))
            #expect(stopped2.contains("duplicates 59,705;"), "\(stopped2)")
            #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["59705"]], "nothing stored twice")
            #expect(result2.stderr.contains("store: rebuilt "), "the start rebuilds the latest candles")
            let again2 = try candlesAgainstTrades(db)
            #expect(again2.candles == candles && again2.mismatches.isEmpty, "\(again2)")
        }
    }

    /// Top-of-book snapshots are cut where the market's time passes them, whatever the feed's
    /// speed: the bundled sample replayed as fast as it goes (whole reader batches at once) and
    /// paced at 10x real time gives the same rows, and each row is what the stored ticks that
    /// arrived before the market passed its time add up to.
    @Test func snapshotsAreTheSameAtAnyReplaySpeedAndEqualTheTicksBeforeThem() throws {
        let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
        var runs: [[[String?]]] = []
        for speed in ["max", "10"] {
            try withScratchDatabase { url in
                let storeConfig = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
                let (serve, address, _) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
                #expect(try akis("replay", sample, "--to", address, "--speed", speed).status == 0)
                let (stopped, result) = stopServe(serve, after: "stored 59,705")
                #expect(result.status == 0 && stopped.contains("stored 59,705 in"), "\(result.stderr)")
                let db = try LibpqConnection(conninfo: url)
                runs.append(try db.execute("""
                    SELECT symbol, time::text, bid, ask, last_price, volume, trade_count FROM order_book_snapshots ORDER BY 1, 2
                    """).rows)
                let wrong = try snapshotsAgainstTicks(db)  // one feed: sequence numbers follow arrival
                #expect(wrong.isEmpty, "speed \(speed): \(wrong)")
            }
        }
        #expect(runs[0].count >= 30 * 5 && runs[0] == runs[1], "\(runs[0].count) rows at max speed, \(runs[1].count) paced")
    }

    /// `/ws/market-data` during a replay into a daemon with a database: a subscriber gets exactly
    /// the ticks of its symbol that were stored, in sequence order, and the candles that were
    /// stored; a later subscriber (Python's websockets, a client independent of ours) gets a
    /// snapshot of the latest state; the stop closes both with "going away".
    @Test func serveStreamsWhatItStores() async throws {
        try await withScratchDatabase { url in
            let storeConfig = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
            let (serve, address, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            let ws = "ws://\(http)/ws/market-data"
            #expect(serve.log.contains("live ticks and candles at \(ws)"), "\(serve.log)")

            let received = Mutex<[String]>([])
            let subscribed = Mutex<Bool>(false)
            let subscriber = Task {
                try await WebSocketClient.connect(url: ws, logger: Logger(label: "cli-test")) { inbound, outbound, _ in
                    try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#))
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let count = received.withLock { $0.append(text); return $0.count }
                        if count == 2 { subscribed.withLock { $0 = true } }
                    }
                }
            }
            let counter = try AkisProcess(["subscribe", "--count", ws, "GARAN"])
            try await waitUntil("both subscribers' first messages; subscribe: \(counter.log)", within: .seconds(60)) {
                guard serve.process.isRunning, counter.process.isRunning else { throw CLIFailure("serve: \(serve.log)\nsubscribe: \(counter.log)") }
                return subscribed.withLock { $0 } && counter.log.contains("received 2 messages")
            }
            let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
            #expect(try akis("replay", sample, "--to", address, "--speed", "max").status == 0)
            waitForLog(serve, "stored 59,705")

            let independent = try AkisProcess([packageRoot.appendingPathComponent("scripts/ws-subscribe").path, ws, "GARAN", "AKBNK"], executable: "/usr/bin/python3")
            try await independent.waitForLines(2)
            let brief = try akis("subscribe", "--count", "--duration", "300ms", ws, "NOPE")
            #expect(brief.status == 0 && brief.stderr.contains(#"{"type":"ERROR","data":{"message":"unknown symbol NOPE: not one of the 30 symbols this daemon ingests"}}"#),
                    "\(brief.stderr)")
            #expect(brief.stdout.contains("received 1 messages") && brief.stderr.hasSuffix("stopped\n"), "--duration ends it cleanly: \(brief)")
            let (_, result) = stopServe(serve, after: "stored 59,705")
            #expect(result.status == 0, "\(result.stderr)")
            let close = try await value(of: subscriber, within: .seconds(60), "the subscriber's close at stop")
            #expect(close?.closeCode == .goingAway && close?.reason == "the daemon is stopping")
            let python = independent.wait()
            #expect(python.status == 0, "\(python.stderr)")
            let counted = counter.wait()
            #expect(counted.status == 0 && counted.stderr.contains("closed by the server: goingAway the daemon is stopping"), "\(counted.stderr)")

            let db = try LibpqConnection(conninfo: url)
            let messages = received.withLock { $0 }
            #expect(messages.count > 2 && messages[0].hasPrefix(#"{"type":"SUBSCRIBED","data":{"symbols":["GARAN"],"subscriptions":["GARAN"]}}"#), "\(messages.prefix(2))")
            #expect(messages[1].hasPrefix(#"{"type":"SNAPSHOT","data":{"marketTime":null,"#), "nothing traded yet: \(messages[1])")

            // Every GARAN tick stored, and nothing else, in sequence order, exact (times to the
            // microsecond PostgreSQL keeps; the stream has the feed's nanoseconds).
            let ticks = messages.filter { $0.hasPrefix(#"{"type":"MARKET_TICK""#) }
            let streamed = ticks.map { t in ["symbol", "seq", "price", "volume", "timestamp", "kind"].map { jsonToken(t, $0) ?? "-" } }
                .map { t in t.enumerated().map { $0.offset == 4 ? toMicroseconds($0.element) : $0.element } }
            let stored = try db.execute("""
                SELECT seq, price, volume, (extract(epoch FROM time) * 1000000)::bigint, kind FROM market_ticks WHERE symbol = 'GARAN' ORDER BY seq
                """).rows.map { r in
                    ["\"GARAN\"", r[0]!, "\(Price(units: Int64(r[1]!)!))", r[2]!, toMicroseconds("\"\(UTCTime.formatISO8601(Int64(r[3]!)! * 1000))\""), r[4] == "1" ? "\"trade\"" : "\"quote\""]
                }
            #expect(stored.count > 1000 && streamed == stored, "\(streamed.count) streamed, \(stored.count) stored; first streamed \(streamed.first ?? [])")
            #expect(counted.stdout.contains("CANDLE 1, MARKET_TICK \(grouped(UInt64(stored.count))), SNAPSHOT 1, SUBSCRIBED 1\n"), "akis subscribe --count: \(counted.stdout)")

            // The last candle message for each minute is the stored candle, after that minute's ticks.
            let candles = messages.filter { $0.hasPrefix(#"{"type":"CANDLE""#) }
            var latest: [String: [String]] = [:]
            for c in candles { latest[jsonToken(c, "start") ?? "-"] = ["open", "high", "low", "close", "volume", "tradeCount", "vwap"].map { jsonToken(c, $0) ?? "-" } }
            let storedCandles = try db.execute("""
                SELECT (extract(epoch FROM bucket) * 1000000)::bigint, open, high, low, close, volume, trade_count, vwap, last_seq FROM market_candles WHERE symbol = 'GARAN'
                """).rows
            #expect(!storedCandles.isEmpty && latest.count == storedCandles.count, "\(latest.keys) against \(storedCandles.count) stored")
            for r in storedCandles {
                let start = "\"\(UTCTime.formatISO8601(Int64(r[0]!)! * 1000))\""
                let expected = [r[1]!, r[2]!, r[3]!, r[4]!].map { "\(Price(units: Int64($0)!))" } + [r[5]!, r[6]!, "\(Price(units: Int64(r[7]!)!))"]
                #expect(latest[start] == expected, "candle \(start)")
                let candleAt = messages.firstIndex { $0.hasPrefix(#"{"type":"CANDLE""#) && jsonToken($0, "start") == start } ?? -1
                let lastTradeAt = messages.firstIndex { $0.hasPrefix(#"{"type":"MARKET_TICK""#) && jsonToken($0, "seq") == r[8]! } ?? Int.max
                #expect(candleAt > lastTradeAt, "the candle \(start) follows its last trade")
            }

            // The independent client: its reply, a snapshot of the stored state, and the close.
            let lines = python.stdout.split(separator: "\n").map(String.init)
            let last = try db.execute("SELECT (array_agg(price ORDER BY time DESC, seq DESC))[1], sum(volume) FROM market_ticks WHERE symbol = 'GARAN' AND kind = 1").rows[0]
            #expect(lines.count == 5, "SUBSCRIBED, SNAPSHOT, two candles closed at the stop, CLOSED: \(lines)")
            #expect(lines.first == #"{"type":"SUBSCRIBED","data":{"symbols":["GARAN","AKBNK"],"subscriptions":["AKBNK","GARAN"]}}"#, "\(lines)")
            #expect(lines.filter { $0.hasPrefix(#"{"type":"CANDLE","data":{"symbol":"#) }.count == 2, "\(lines)")
            #expect(lines.dropFirst().first?.contains(#"{"symbol":"GARAN","price":\#(Price(units: Int64(last[0]!)!)),"#) == true, "\(lines)")
            #expect(lines.dropFirst().first?.contains(#""volume":\#(last[1]!),"#) == true, "\(lines)")
            #expect(lines.last == "CLOSED 1001 the daemon is stopping", "\(lines)")
        }
    }

    /// `GET /api/market/latest` answers from memory what SQL says about the stored trades.
    func latestIsServed(_ http: String, _ url: String) throws {
        let db = try LibpqConnection(conninfo: url)
        // The sample is one trading day: the daily figures are the sums over the day's trades.
        let expected = try db.execute("""
            SELECT (array_agg(price ORDER BY time DESC, seq DESC))[1], sum(volume), count(*), max(price), min(price)
            FROM market_ticks WHERE symbol = 'GARAN' AND kind = 1
            """).rows[0]
        let latest = try httpGet(http, "/api/market/latest?symbols=GARAN,AKBNK")
        #expect(latest.status == 200, "\(latest)")
        #expect(latest.body.hasPrefix("{\"marketTime\":\"2024-"), "\(latest.body.prefix(200))")
        let garan = Price(units: Int64(expected[0]!)!)
        #expect(latest.body.contains("{\"symbol\":\"GARAN\",\"price\":\(garan),"), "\(latest.body.prefix(400))")
        #expect(latest.body.contains("\"high\":\(Price(units: Int64(expected[3]!)!)),\"low\":\(Price(units: Int64(expected[4]!)!)),\"volume\":\(expected[1]!),\"tradeCount\":\(expected[2]!),"),
                "\(latest.body.prefix(600))")
        #expect(latest.body.contains("{\"symbol\":\"AKBNK\""))
        let all = try httpGet(http, "/api/market/latest")
        #expect(all.status == 200 && all.body.components(separatedBy: "{\"symbol\":").count - 1 == 30, "every symbol without ?symbols=")
        for (path, status, message) in [
            ("/api/market/latest?symbols=GARAN,ZZZZ", 404, "unknown symbol ZZZZ"),
            ("/api/market/latest?symbols=GARAN,,AKBNK", 400, "empty entry"),
            ("/api/market/latest?symbols=%3Cscript%3E", 400, "is not a symbol"),
            ("/api/market/latest?symbol=GARAN", 400, "unknown parameter"),
        ] {
            let r = try httpGet(http, path)
            #expect(r.status == status && r.body.contains(message), "\(path): \(r)")
        }
    }

    /// `/api/market/latest`, and the `SNAPSHOT` a WebSocket subscriber to every stored symbol
    /// receives, equal the day's figures computed from `market_ticks` for each symbol (the stored
    /// ticks are of one trading day).
    func latestEqualsTheStore(_ http: String, _ db: LibpqConnection) throws {
        let rows = try db.execute("""
            SELECT symbol, (array_agg(price ORDER BY time DESC, seq DESC))[1], (array_agg(price ORDER BY time, seq))[1],
                   max(price), min(price), sum(volume), count(*), sum(price::numeric * volume)::text
            FROM market_ticks WHERE kind = 1 GROUP BY symbol ORDER BY symbol
            """).rows
        let latest = try httpGet(http, "/api/market/latest")
        #expect(latest.status == 200 && !rows.isEmpty, "\(latest.status), \(rows.count) symbols")
        let symbols = rows.map { $0[0]! }
        let subscribed = try AkisProcess(["subscribe", "--duration", "1s", "ws://\(http)/ws/market-data"] + symbols).wait()
        let snapshot = subscribed.stdout.split(separator: "\n").first { $0.hasPrefix(#"{"type":"SNAPSHOT","data":{"#) }.map(String.init) ?? ""
        #expect(subscribed.status == 0 && !snapshot.isEmpty, "akis subscribe: \(subscribed)")
        func price(_ text: String?) -> String { "\(Price(units: Int64(text!)!))" }
        for r in rows {
            let figures = "{\"symbol\":\"\(r[0]!)\",\"price\":\(price(r[1]))," + "\"open\":\(price(r[2])),\"high\":\(price(r[3])),\"low\":\(price(r[4])),"
                + "\"volume\":\(r[5]!),\"tradeCount\":\(r[6]!),\"turnover\":\(JSONText.lira(Int128(r[7]!)!)),"
            let parts = figures.components(separatedBy: ",\"open\"")
            for (source, body) in [("/api/market/latest", latest.body), ("SNAPSHOT", snapshot)] {
                let served = body.components(separatedBy: "{\"symbol\":\"\(r[0]!)\"").dropFirst().first.map { "{\"symbol\":\"\(r[0]!)\"" + $0 } ?? "none"
                #expect(served.hasPrefix(parts[0] + ",") && served.contains("\"open\"" + parts[1]), "\(source), \(r[0]!): \(figures) not in \(served.prefix(500))")
            }
        }
    }

    /// Every candle length that `/api/market/candles` serves for `symbol` over the sample's
    /// Istanbul day equals its SQL row (`market_candles` or the 5m/1h/1d views), to the digit.
    func candlesAreServedAsStored(_ http: String, _ db: LibpqConnection, _ symbol: String) throws {
        func price(_ text: String?) -> String { "\(Price(units: Int64(text!)!))" }
        for (interval, relation) in [("1m", "market_candles"), ("5m", "market_candles_5m"), ("1h", "market_candles_1h"), ("1d", "market_candles_1d")] {
            let rows = try db.execute("""
                SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), open, high, low, close, volume, trade_count, vwap, first_seq, last_seq
                FROM \(relation) WHERE symbol = $1 ORDER BY bucket
                """, parameters: [symbol]).rows
            let served = try httpGet(http, "/api/market/candles?symbol=\(symbol)&interval=\(interval)&from=2024-09-23T21:00:00Z&to=2024-09-24T21:00:00Z")
            #expect(served.status == 200 && !rows.isEmpty && served.body.contains("\"count\":\(rows.count),"), "\(interval): \(served.body.prefix(300))")
            for r in rows {
                let candle = "\"start\":\"\(r[0]!)\",\"open\":\(price(r[1])),\"high\":\(price(r[2])),\"low\":\(price(r[3])),\"close\":\(price(r[4])),"
                    + "\"volume\":\(r[5]!),\"tradeCount\":\(r[6]!),\"vwap\":\(price(r[7])),\"firstSeq\":\(r[8]!),\"lastSeq\":\(r[9]!)}"
                #expect(served.body.contains(candle), "\(interval): \(candle) not in \(served.body.prefix(400))")
            }
        }
    }

    /// The HTTP history API over what `serve` stored: the same rows as SQL, exact prices, and
    /// specific errors for bad requests.
    func historyIsServed(_ http: String, _ url: String) throws {
        let db = try LibpqConnection(conninfo: url)
        let bounds = try db.execute("""
            SELECT to_char(min(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), to_char(max(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM market_ticks WHERE symbol = 'GARAN'
            """).rows[0]
        let from = bounds[0]!, to = bounds[1]!
        let inside = try db.execute("SELECT count(*) FROM market_ticks WHERE symbol = 'GARAN' AND time >= $1 AND time < $2", parameters: [from, to]).rows[0][0]!
        let first = try db.execute("""
            SELECT price, seq, (extract(epoch FROM time) * 1000000)::bigint FROM market_ticks WHERE symbol = 'GARAN' ORDER BY time, feed, seq LIMIT 1
            """).rows[0]
        let ticks = try httpGet(http, "/api/market/ticks?symbol=GARAN&from=\(from)&to=\(to)&limit=10000")
        #expect(ticks.status == 200, "\(ticks.body.prefix(300))")
        #expect(ticks.body.hasPrefix("{\"symbol\":\"GARAN\",\"from\":\""))
        #expect(ticks.body.contains("\"count\":\(inside),\"truncated\":false"), "\(ticks.body.prefix(300))")
        let price = Price(units: Int64(first[0]!)!)
        let time = UTCTime.formatISO8601(Int64(first[2]!)! * 1000)
        #expect(ticks.body.contains("\"ticks\":[{\"symbol\":\"GARAN\",\"timestamp\":\"\(time)\""), "\(ticks.body.prefix(300))")
        #expect(ticks.body.contains("\"price\":\(price),") && ticks.body.contains("\"seq\":\(first[1]!),"), "exact decimal, not a float")
        let limited = try httpGet(http, "/api/market/ticks?symbol=GARAN&from=\(from)&to=\(to)&limit=3")
        #expect(limited.body.contains("\"count\":3,\"truncated\":true,\"next\":\""), "\(limited.body.prefix(200))")
        // Paging with the cursor returns every stored tick once, in order (MarketHistoryTests
        // pages through ticks that share microseconds).
        let all = try db.execute("SELECT seq FROM market_ticks WHERE symbol = 'GARAN' ORDER BY time, feed, seq").rows.map { Int($0[0]!)! }
        var paged: [Int] = []
        var after = ""
        for _ in 0...all.count {
            let page = try httpGet(http, "/api/market/ticks?symbol=GARAN&from=2024-09-24T00:00:00Z&to=2024-09-25T00:00:00Z&limit=97" + after)
            let body = try JSONSerialization.jsonObject(with: Data(page.body.utf8)) as? [String: Any] ?? [:]
            paged += (body["ticks"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }
            guard let next = body["next"] as? String else { break }
            after = "&after=" + next
        }
        #expect(paged == all, "\(paged.count) paged of \(all.count)")
        let istanbul = try httpGet(http, "/api/market/ticks?symbol=GARAN&from=2024-09-24T13:00:00%2B03:00&to=2024-09-24T13:00:01%2B03:00")
        #expect(istanbul.status == 200 && istanbul.body.contains("\"from\":\"2024-09-24T10:00:00.000Z\""), "\(istanbul.body.prefix(200))")

        let candles = try httpGet(http, "/api/market/candles?symbol=GARAN&interval=5m&from=\(from)&to=\(to)")
        #expect(candles.status == 200 && candles.body.contains("\"interval\":\"5m\""), "\(candles)")

        for (path, status, message) in [
            ("/api/market/ticks", 400, "symbol is required"),
            ("/api/market/ticks?symbol=ZZZZ", 404, "unknown symbol ZZZZ"),
            ("/api/market/ticks?symbol=%27%3B%20DROP%20TABLE%20market_ticks%3B--", 400, "is not a symbol"),
            ("/api/market/ticks?symbol=GARAN&limit=0", 400, "limit must be a whole number from 1 to 10000"),
            ("/api/market/ticks?symbol=GARAN&after=12-x", 400, "after must be the next cursor of a previous page"),
            ("/api/market/ticks?symbol=GARAN&from=yesterday", 400, "from must be an ISO 8601 time"),
            ("/api/market/ticks?symbol=GARAN&to=2024-01-01T00:00:00Z&from=2024-02-01T00:00:00Z", 400, "must be before to"),
            ("/api/market/candles?symbol=GARAN&interval=2m", 400, "interval must be one of 1m, 5m, 1h, 1d"),
            ("/api/market/candles?symbol=GARAN&interval=1m&from=2020-01-01T00:00:00Z", 400, "spans more than 10000 candles"),
        ] {
            let r = try httpGet(http, path)
            #expect(r.status == status && r.body.hasPrefix("{\"error\":\"") && r.body.contains(message), "\(path): \(r)")
        }
        #expect(try db.execute("SELECT count(*) FROM market_ticks").rows == [["59705"]], "the hostile symbol was data, not SQL")
    }

    /// SIGKILL in the middle of a full-speed replay: the database holds whole batches only (the
    /// feed's sequence numbers 1...checkpoint, no hole, nothing twice); a restart drains whatever
    /// the spool holds, and the same replay then stores the rest exactly once.
    @Test func aKilledDaemonLeavesNoPartialBatchAndResumes() throws {
        try withScratchDatabase { url in
            let recording = scratchFile("crash.akrec")
            // Four minutes of exchange time, so that candles close while the daemon runs.
            #expect(try akis("synth", "--symbols", "30", "--rate", "2000", "--duration", "200", "--out", recording).status == 0)
            let total = try expectedChecksum(recording, feed: 1).count
            let storeConfig = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nflush_interval = \"20ms\"\nretention_days = 36500"

            let (serve, address, _) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            let replay = try AkisProcess(["replay", recording, "--to", address, "--speed", "max"])
            let db = try LibpqConnection(conninfo: url)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, (try? db.execute("SELECT count(*) FROM market_ticks").rows[0][0].flatMap { Int($0) }) ?? 0 < 150_000 {
                sleepBlocking(.microseconds(5_000))
            }
            kill(serve.process.processIdentifier, SIGKILL)
            _ = serve.wait()
            _ = replay.wait()
            let afterCrash = try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows[0]
            let checkpoint = try db.execute("SELECT highest_seq FROM ingest_checkpoints WHERE feed = 1").rows.first?[0]
            #expect(afterCrash[0].flatMap { Int($0) } ?? 0 >= 150_000)
            #expect(afterCrash[0] == afterCrash[1] && afterCrash[2] == "1" && afterCrash[3] == afterCrash[0] && checkpoint == afterCrash[3],
                    "stored \(afterCrash), checkpoint \(String(describing: checkpoint))")

            let (again, address2, http2) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            #expect(try akis("replay", recording, "--to", address2, "--speed", "max").status == 0)
            let drained = Date().addingTimeInterval(60)
            while Date() < drained, (try? db.execute("SELECT count(*) FROM market_ticks").rows[0][0].flatMap { Int($0) }) ?? 0 < total {
                sleepBlocking(.microseconds(20_000))
            }
            // The day's statistics count the ticks stored before the kill and the resent rest, once.
            try latestEqualsTheStore(http2, db)
            let (stopped, result) = stopServe(again, after: "stored ")
            #expect(result.stderr.contains("resuming sequence tracking after feed 1 at"), "\(result.stderr)")
            #expect(result.stderr.contains("statistics: trading day 2024-09-24 rebuilt from "), "\(result.stderr)")
            #expect(try snapshotsAgainstTicks(db).isEmpty, "the snapshot rows' day volume and trade count, across the restart")
            // After a clean stop: a start with no feed at all serves the day as stored.
            let (third, _, http3) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: storeConfig)
            try latestEqualsTheStore(http3, db)
            _ = stopServe(third, after: "statistics: trading day")
            let final = try db.execute("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM market_ticks").rows[0]
            #expect(final == [String(total), String(total), "1", String(total)], "\(stopped)")
            // Candles lost with the batches in memory, and minutes cut in two by the crash, are whole again.
            let (candles, mismatches) = try candlesAgainstTrades(db)
            #expect(candles > 90 && mismatches.isEmpty, "\(candles) candles; mismatches: \(mismatches)")
        }
    }

    /// UDP at a rate the test sets (the sample's 1,000 ticks/s, replayed at 5x).
    @Test func serveReceivesAPacedUDPFeedWhole() throws {
        let (serve, address, _) = try startServe("address = \"udp://127.0.0.1:0\"", extra: "[reader]\nreceive_path = \"io_uring-recv\"")
        let recording = scratchFile("udp.akrec")
        #expect(try akis("synth", "--symbols", "30", "--rate", "2000", "--duration", "5", "--out", recording).status == 0)
        let replay = try akis("replay", recording, "--to", address, "--speed", "5")
        #expect(replay.status == 0, "\(replay.stderr)")
        let expected = try expectedChecksum(recording, feed: 1)
        let (stopped, result) = stopServe(serve, after: "delivered store \(grouped(expected.count))")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(stopped.contains("store checksum \(expected)"), "\(stopped)")
        #expect(stopped.contains("kernel drops 0"))
        #expect(result.stderr.contains("receives with io_uring single receive per completion"))
    }
}

/// A Unix datagram socket standing in for systemd's notification socket.
final class NotifySocket {
    let path: String
    let fd: Int32
    init() throws {
        path = scratchFile("notify.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw CLIFailure("cannot bind \(path)") }
    }
    deinit { close(fd) }

    /// Every message received within `seconds`.
    func messages(for seconds: Double) -> [String] {
        var out: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { out.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        return out
    }
}

/// A quoted ISO 8601 time cut to microseconds: `"…T07:00:00.030298374Z"` → `"…T07:00:00.030298Z"`.
func toMicroseconds(_ time: String) -> String {
    guard let dot = time.firstIndex(of: "."), let z = time.firstIndex(of: "Z") else { return time }
    let fraction = (time[time.index(after: dot)..<z] + "000000").prefix(6)
    return String(time[...dot] + fraction + time[z...])
}

/// The raw JSON text of `key`'s value in a flat message (a number, a quoted string, true/false).
func jsonToken(_ text: String, _ key: String) -> String? {
    guard let range = text.range(of: "\"\(key)\":") else { return nil }
    let rest = text[range.upperBound...]
    let end = rest.hasPrefix("\"") ? rest.dropFirst().firstIndex(of: "\"").map { rest.index(after: $0) } : rest.firstIndex { $0 == "," || $0 == "}" }
    return end.map { String(rest[..<$0]) }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads the "recording tcp://…:PORT to …" line that `akis record` prints.
func waitForBoundPort(_ p: AkisProcess) throws -> Int {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        let text = (try? String(contentsOfFile: p.outPath, encoding: .utf8)) ?? ""
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("recording ") }),
           let address = line.split(separator: " ").dropFirst().first,
           let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
            return port
        }
        sleepBlocking(.microseconds(20_000))
    }
    throw CancellationError()
}
