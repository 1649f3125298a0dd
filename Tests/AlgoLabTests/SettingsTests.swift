import AkisConfig
import AlgoLab
import Daemon
import Foundation
import Ingest
import Testing

@Suite struct SettingsTests {
    func parse(_ text: String) throws(ConfigError) -> AlgoLabSettings {
        try AkisConfiguration.parse(text, modules: [AlgoLabSettings.self]).settings(AlgoLabSettings.self)
    }

    @Test func defaultsAreAlgoLabsAndEveryKeyIsRead() throws {
        #expect(!(try parse("")).enabled)
        let d = try parse("[algolab]\napi_key_env = \"K\"")
        #expect(d.enabled && d.apiKey == .environment("K"))
        #expect(d.restURL == "https://www.algolab.com.tr/api" && d.webSocketURL == "wss://www.algolab.com.tr/api/ws")
        #expect(d.minimumRequestIntervalNanos == 1_100_000_000 && d.refreshIntervalNanos == 300_000_000_000 && d.depth)
        let s = try parse("""
            [algolab]
            api_key_file = "/etc/akis/algolab.key"
            url = "https://proxy.example/api/"
            websocket_url = "wss://proxy.example/api/ws"
            ca_file = "/etc/akis/proxy.pem"
            min_request_interval = "1500ms"
            request_timeout = "10s"
            session_file = "/var/lib/akis/s"
            session_key_env = "SK"
            refresh_interval = "10m"
            heartbeat_interval = "5s"
            depth = false
            """)
        #expect(s.apiKey == .file("/etc/akis/algolab.key") && s.restURL == "https://proxy.example/api" && s.caFile == "/etc/akis/proxy.pem")
        #expect(s.minimumRequestIntervalNanos == 1_500_000_000 && s.requestTimeoutNanos == 10_000_000_000 && s.sessionFile == "/var/lib/akis/s")
        #expect(s.sessionKey == .environment("SK") && s.refreshIntervalNanos == 600_000_000_000 && s.heartbeatIntervalNanos == 5_000_000_000 && !s.depth)
        #expect(s.summary.contains("from $SK") && s.summary.contains("from /etc/akis/algolab.key"))
    }

    @Test(arguments: [
        ("[algolab]", "algolab.api_key: is missing"),
        ("[algolab]\napi_key = \"API-x\"\napi_key_env = \"K\"", "algolab.api_key (line 2): give it once: api_key, api_key_env or api_key_file"),
        ("[algolab]\napi_key_env = \"K\"\nurl = \"ftp://x\"", "algolab.url (line 3): ftp://x is not a https or http URL"),
        ("[algolab]\napi_key_env = \"K\"\nwebsocket_url = \"https://x/ws\"", "is not a wss or ws URL"),
        ("[algolab]\napi_key_env = \"K\"\nrefresh_interval = \"20m\"", "algolab.refresh_interval (line 3)"),
        ("[algolab]\napi_key_env = \"K\"\nwebsocket_url = \"wss://10.0.0.1:443/api/ws\"", "a wss URL needs a host name, not an IP address"),
        ("[algolab]\napi_key_env = \"K\"\nsecret = \"x\"", "unknown key algolab.secret (line 3)"),
    ])
    func badSettingsNameTheKey(text: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func theAccountSaysWhatIsWrongWithoutTheSecret() async throws {
        var settings = try parse("[algolab]\napi_key_env = \"ALGOLAB_TEST_KEY\"\nsession_key_env = \"ALGOLAB_TEST_SESSION\"")
        #expect(throws: AlgoLabError.configuration("api_key: the environment has no ALGOLAB_TEST_KEY")) { try AlgoLabAccount(settings, environment: [:]) }
        let leaked = "API-" + Data(repeating: 1, count: 16).base64EncodedString()
        do {
            _ = try AlgoLabAccount(settings, environment: ["ALGOLAB_TEST_KEY": leaked])
            Issue.record("a 16-byte key was taken")
        } catch {
            #expect("\(error)".contains("16 bytes") && !"\(error)".contains(leaked))
        }
        #expect(throws: AlgoLabError.self) {
            try AlgoLabAccount(settings, environment: ["ALGOLAB_TEST_KEY": "API-04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg=", "ALGOLAB_TEST_SESSION": "short"])
        }
        // Without a session key, one is made next to the session file, readable by its owner only.
        let directory = NSTemporaryDirectory() + "akis-algolab-\(UUID().uuidString)"
        settings.sessionKey = nil
        settings.sessionFile = directory + "/session"
        let account = try AlgoLabAccount(settings, environment: ["ALGOLAB_TEST_KEY": "API-04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg="])
        let mode = (try FileManager.default.attributesOfItem(atPath: directory + "/session.key")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        await account.client.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func anAlgoLabFeedNeedsTheModuleAndThereIsOnlyOne() throws {
        let sources = FeedSources()
        let feed = FeedEndpoint(name: "broker", id: 3, address: FeedAddress(transport: .tcp, host: "algolab", port: 0), role: .connect, format: .algolab)
        let request = FeedSources.Request(feed: feed, symbols: try SymbolTable(["GARAN"]), ringCapacity: 1024, doorbell: Doorbell(), checkpoint: nil, announce: { _ in })
        #expect { try sources.start(request) } throws: { "\($0)".contains("feed broker: format \"algolab\" needs the [algolab] table") }

        let directory = NSTemporaryDirectory() + "akis-algolab-\(UUID().uuidString)"
        let configuration = try AkisConfiguration.parse("""
            [algolab]
            api_key = "API-04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg="
            session_file = "\(directory)/session"
            """, modules: [AlgoLabSettings.self])
        let shared = SharedParts()
        shared.offer(sources)
        let module = try AlgoLabModule(context: ModuleContext(configuration: configuration, logger: .init(label: "test"), database: nil, metrics: DaemonMetrics(),
                                                              readiness: Readiness(), heartbeats: Heartbeats(), shared: shared))
        #expect(module.services.count == 1)
        let started = try sources.start(request)
        #expect(started.source.feeds.map(\.name) == ["broker"] && started.source.receiveDescription == "websocket")
        #expect { try sources.start(request) } throws: { "\($0)".contains("only one feed may have format \"algolab\"") }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
