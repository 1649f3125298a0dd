import Foundation
import Ingest
import Store
import Testing
import TestSupport

/// `akis algolab login|status` and the daemon's session keeper, against the fake AlgoLab.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AlgoLabCLITests {
    /// A configuration with `[algolab]` pointing at `fake`, its API key in the environment.
    func configuration(_ fake: TestAlgoLab, directory: String) -> String {
        """
        [algolab]
        api_key_env = "TEST_ALGOLAB_KEY"
        url = "\(fake.restURL)"
        websocket_url = "\(fake.webSocketURL)"
        min_request_interval = "50ms"
        session_file = "\(directory)/algolab/session"
        refresh_interval = "2s"
        """
    }

    @Test func loginStoresASessionThatStatusAndTheDaemonUse() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let directory = scratchFile("algolab")
        let config = directory + ".toml"
        try configuration(fake, directory: directory).write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["TEST_ALGOLAB_KEY": TestAlgoLab.apiKey]

        // No session yet.
        let none = try await akisRun(["algolab", "status", "--config", config], environment: environment)
        #expect(none.status != 0 && none.stderr.contains("no session"))

        // A wrong SMS code first, then the right one; secrets come on standard input only.
        let login = try await akisRun(["algolab", "login", "--config", config, "--user", TestAlgoLab.user], environment: environment, input: "\(TestAlgoLab.password)\n000000\n\(TestAlgoLab.sms)\n")
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout.contains("Hatalı SMS kodu") && login.stdout.contains("session stored in \(directory)/algolab/session"))
        #expect(!(login.stdout + login.stderr).contains(TestAlgoLab.password))
        let mode = (try FileManager.default.attributesOfItem(atPath: directory + "/algolab/session")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(FileManager.default.fileExists(atPath: directory + "/algolab/session.key"))

        let status = try await akisRun(["algolab", "status", "--config", config], environment: environment)
        #expect(status.status == 0 && status.stdout.contains("is live"), "\(status.stderr)")

        let orders = try await akisRun(["algolab", "orders", "--config", config], environment: environment)
        #expect(orders.status == 0 && orders.stdout.contains("reference  symbol") && orders.stdout.contains("(no orders today)"), "\(orders)")
        let positions = try await akisRun(["algolab", "positions", "--config", config], environment: environment)
        #expect(positions.status == 0 && positions.stdout.contains("(no holdings)"), "\(positions)")

        // Without the key in the environment: a clear error that names where it was looked for.
        let keyless = try await akisRun(["algolab", "status", "--config", config])
        #expect(keyless.status != 0 && keyless.stderr.contains("TEST_ALGOLAB_KEY"))
        let check = try await akisRun(["serve", "--config", config, "--check-config"], environment: environment)
        #expect(check.status == 0 && check.stdout.contains("algolab: REST \(fake.restURL)") && !check.stdout.contains("04YW"))
        #expect(try await fake.rejected() == ["wrong SMS code"])
    }

    @Test func theDaemonKeepsTheSessionAndSaysWhenItIsGone() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let directory = scratchFile("algolab")
        let config = directory + ".toml"
        try (configuration(fake, directory: directory) + """

            [http]
            address = "127.0.0.1:0"
            [[feeds]]
            name = "e2e"
            address = "tcp://127.0.0.1:0"
            """).write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ["TEST_ALGOLAB_KEY": TestAlgoLab.apiKey]
        let (serve, http) = try await start(config, environment)
        let before = try await httpGet(http, "/readyz")
        #expect(before.status == 503 && before.body.contains("akis algolab login"))

        let login = try await akisRun(["algolab", "login", "--config", config, "--user", TestAlgoLab.user], environment: environment, input: "\(TestAlgoLab.password)\n\(TestAlgoLab.sms)\n")
        #expect(login.status == 0, "\(login.stderr)")
        try await eventually("the daemon takes up the session", within: .seconds(30), every: .milliseconds(100)) {
            try await httpGet(http, "/readyz").status == 200
        }
        #expect(try await httpGet(http, "/metrics").body.contains("akis_algolab_session_live 1"))
        try await fake.control("expire")
        try await eventually("the daemon notices the expiry", within: .seconds(30), every: .milliseconds(100)) {
            try await httpGet(http, "/readyz").status == 503
        }
        #expect(try await httpGet(http, "/metrics").body.contains("akis_algolab_session_live 0"))
        kill(serve.process.processIdentifier, SIGTERM)
        let result = try await finished(serve)
        #expect(result.status == 0)
        #expect(result.stderr.contains("algolab: the session has expired"))
        let session = try String(contentsOfFile: directory + "/algolab/session", encoding: .utf8)
        #expect(!result.stderr.contains(session.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!result.stderr.contains(TestAlgoLab.apiKey))
    }
}

extension AlgoLabCLITests {
    /// `akis serve` with only an AlgoLab feed: what the fake sends is stored and fanned out tick
    /// for tick, a dropped connection is resubscribed and told to the clients, and a restart
    /// numbers on after the stored ticks.
    @Test func anAlgoLabFeedIsStoredAndFannedOutExactlyAsSent() async throws {
        try await withScratchDatabase { url in
            let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0", "--recording", AlgoLabSample.path])
            let directory = scratchFile("algolab")
            let config = directory + ".toml"
            try (configuration(fake, directory: directory) + """

                [database]
                url = "\(url)"
                [store]
                spool_directory = "\(directory)/spool"
                retention_days = 36500
                [http]
                address = "127.0.0.1:0"
                [[feeds]]
                name = "broker"
                id = 4
                format = "algolab"
                reconnect_initial = "50ms"
                """).write(toFile: config, atomically: true, encoding: .utf8)
            let environment = ["TEST_ALGOLAB_KEY": TestAlgoLab.apiKey]
            let login = try await akisRun(["algolab", "login", "--config", config, "--user", TestAlgoLab.user], environment: environment, input: "\(TestAlgoLab.password)\n\(TestAlgoLab.sms)\n")
            #expect(login.status == 0, "\(login.stderr)")
            let (serve, http) = try await start(config, environment)
            try await waitForSubscriptions(fake, connections: 1)

            let symbols = ["AKBNK", "GARAN", "THYAO", "ASELS", "SISE", "TUPRS"]
            let subscriber = try AkisProcess(["subscribe", "--duration", "60s", "ws://\(http)/ws/market-data"] + symbols)
            // Its output reaches the file when it exits: wait for the daemon to count the client.
            try await eventually("the subscriber connects", within: .seconds(30), every: .milliseconds(50)) {
                try await httpGet(http, "/metrics").body.contains("akis_fanout_clients 1.0")
            }
            try await Task.sleep(for: .milliseconds(500))
            let lines = try AlgoLabSample.lines()
            try await fake.control("stream", ["count": 120])
            try await fake.control("drop")
            try await waitForSubscriptions(fake, connections: 2)
            try await fake.control("stream", ["count": lines.count])
            let trades = AlgoLabSample.trades(lines[...])
            var counted = ""
            try await eventually("the feed's ticks settle", within: .seconds(30), every: .milliseconds(300)) {
                let metrics = try await httpGet(http, "/metrics").body
                let ticks = metrics.split(separator: "\n").first { $0.hasPrefix("akis_feed_ticks_total{feed=\"broker\"}") }.map(String.init) ?? ""
                defer { counted = ticks }
                return metrics.contains("akis_feed_possible_gaps_total{feed=\"broker\"} 1") && ticks == counted && !ticks.hasSuffix(" 0")
            }
            serve.process.terminate()
            let stopped = try await finished(serve)
            #expect(stopped.status == 0, "\(stopped.stderr.suffix(2000))")
            #expect(stopped.stderr.contains("feed broker: reconnected; ticks from"))
            let fanned = try await finished(subscriber).stdout
            #expect(fanned.components(separatedBy: "\"kind\":\"trade\"").count == trades.count + 1)
            #expect(fanned.contains(#"{"type":"FEED_STATUS","data":{"feed":"broker","status":"RECONNECTED","possibleGap":true,"#), "\(fanned.prefix(3000))")

            // Stored tick for tick, in the order sent, exactly.
            let rows = try await query(url, "SELECT symbol, price, volume, (extract(epoch FROM time) * 1000)::bigint, seq FROM market_ticks WHERE kind = 1 AND feed = 4 ORDER BY seq")
            #expect(rows.count == trades.count)
            for (row, sent) in zip(rows, trades) {
                var date = sent.date
                let millis = date.withUTF8 { UTCTime.parseISO8601(UnsafeRawBufferPointer($0)) }.map { $0 / 1_000_000 }
                #expect(row[0] == sent.symbol && row[1] == "\(Price(sent.price)!.units)" && row[2] == "\(Int64(Double(sent.quantity)!))"
                        && row[3] == millis.map { "\($0)" }, "\(row) vs \(sent)")
            }
            let seqs = try await query(url, "SELECT min(seq), max(seq), count(*) FROM market_ticks WHERE feed = 4")[0]
            #expect(seqs[0] == "1" && seqs[1] == seqs[2], "\(seqs)")

            // A restart numbers on after the stored ticks.
            let (again, _) = try await start(config, environment)
            try await waitForSubscriptions(fake, connections: 3)
            try await fake.control("send", ["message": #"{"Type":"T","Content":{"Symbol":"GARAN","Price":121.5,"TradeQuantity":7,"Date":"2024-09-25T10:09:00+03:00","Direction":"B"}}"#])
            try await Task.sleep(for: .milliseconds(500))
            again.process.terminate()
            #expect(try await finished(again).status == 0)
            let last = try await query(url, "SELECT seq, price FROM market_ticks WHERE feed = 4 ORDER BY seq DESC LIMIT 1")[0]
            #expect(last[0] == "\(Int(seqs[1]!)! + 1)" && last[1] == "121500000", "\(last)")
        }
    }

    /// `akis ARGS` to its end, waited for on a thread of its own (never a cooperative one).
    func akisRun(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> RunResult {
        try await offThePool { try AkisProcess(arguments, environment: environment, input: input).wait() }
    }

    func finished(_ process: AkisProcess) async throws -> RunResult {
        try await offThePool { process.wait() }
    }

    func query(_ url: String, _ sql: String) async throws -> [[String?]] {
        try await offThePool { try LibpqConnection(conninfo: url).execute(sql).rows }
    }

    func start(_ config: String, _ environment: [String: String]) async throws -> (AkisProcess, String) {
        let ready = scratchFile("ready")
        let serve = try AkisProcess(["serve", "--config", config, "--ready-file", ready], environment: environment)
        try await eventually("the daemon is up", within: .seconds(60)) {
            guard serve.process.isRunning else { throw CLIFailure("serve stopped: \(serve.log)") }
            return !((try? String(contentsOfFile: ready, encoding: .utf8))?.isEmpty ?? true)
        }
        let http = try #require(try String(contentsOfFile: ready, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("http ") }?.dropFirst(5))
        return (serve, String(http))
    }

    func waitForSubscriptions(_ fake: TestAlgoLab, connections: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let log = try await fake.log()
            if log["subscribed"] as? Int == 1, log["ws_connections"] as? Int == connections { return }
            guard ContinuousClock.now < deadline else { throw TestTimeout("AlgoLab connection \(connections) subscribed: \(log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
