import AkisConfig
import Foundation

/// `[algolab]`: the broker connection (docs/algolab.md). Without the table the module is off and
/// a `[[feeds]]` entry with `format = "algolab"` is an error.
public struct AlgoLabSettings: ModuleSettings {
    public static let section = "algolab"

    public var enabled = false
    /// api_key, api_key_env or api_key_file: `API-<code>` from AlgoLab's API page.
    public var apiKey: SecretSource?
    /// url: the REST base (endpoint paths are appended: `…/api` + `/api/SendOrder`).
    public var restURL = "https://www.algolab.com.tr/api"
    /// websocket_url: the market-data and order-update socket.
    public var webSocketURL = "wss://www.algolab.com.tr/api/ws"
    /// ca_file: a PEM file of certificates to trust besides the system's (a TLS proxy, a test server).
    public var caFile: String?
    /// min_request_interval: AlgoLab allows one request a second, counted as they arrive; requests
    /// go one at a time, each this long after the reply to the one before (a tenth of a second
    /// more than AlgoLab's limit, a margin for its clock). Zero sends requests at once.
    public var minimumRequestIntervalNanos: Int64 = 1_100_000_000
    /// request_timeout: a REST call that takes longer fails (as a transport error).
    public var requestTimeoutNanos: Int64 = 30_000_000_000
    /// session_file: where `akis algolab login` leaves the session for the daemon (encrypted).
    public var sessionFile = "/var/lib/akis/algolab/session"
    /// session_key, session_key_env or session_key_file: the key the session file is encrypted
    /// with (32 bytes, base64). Default: a key file made on first use next to the session.
    public var sessionKey: SecretSource?
    /// refresh_interval: how often the daemon calls SessionRefresh (AlgoLab drops a session
    /// left alone for 15 minutes).
    public var refreshIntervalNanos: Int64 = 300_000_000_000
    /// heartbeat_interval: how often the WebSocket sends its `H` message.
    public var heartbeatIntervalNanos: Int64 = 15_000_000_000
    /// depth: subscribe to `D` (depth) messages too, for the top of book as quote ticks.
    public var depth = true

    public init() {}

    /// The key file used when no session key is configured.
    public var defaultSessionKeyFile: String { sessionFile + ".key" }

    public mutating func read(_ section: inout ConfigSection) throws(ConfigError) {
        enabled = true
        apiKey = try section.secret("api_key")
        guard apiKey != nil else { throw section.fail("api_key", "is missing: give api_key_env (or api_key_file) with the key from AlgoLab's API page") }
        restURL = try url(&section, "url", default: restURL, schemes: ["https", "http"])
        webSocketURL = try url(&section, "websocket_url", default: webSocketURL, schemes: ["wss", "ws"])
        if webSocketURL.hasPrefix("wss://"), let host = URL(string: webSocketURL)?.host, host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) {
            throw section.fail("websocket_url", "a wss URL needs a host name, not an IP address (the WebSocket client sends it as TLS SNI)")
        }
        caFile = try section.string("ca_file")
        minimumRequestIntervalNanos = try section.duration("min_request_interval", default: minimumRequestIntervalNanos, in: 0...60_000_000_000)
        requestTimeoutNanos = try section.duration("request_timeout", default: requestTimeoutNanos, in: 100_000_000...600_000_000_000)
        sessionFile = try section.string("session_file", default: sessionFile)
        if sessionFile.isEmpty { throw section.fail("session_file", "is empty") }
        sessionKey = try section.secret("session_key")
        refreshIntervalNanos = try section.duration("refresh_interval", default: refreshIntervalNanos, in: 1_000_000_000...840_000_000_000)
        heartbeatIntervalNanos = try section.duration("heartbeat_interval", default: heartbeatIntervalNanos, in: 1_000_000_000...600_000_000_000)
        depth = try section.bool("depth", default: depth)
    }

    private func url(_ section: inout ConfigSection, _ key: String, default value: String, schemes: [String]) throws(ConfigError) -> String {
        let text = try section.string(key, default: value)
        guard let url = URL(string: text), let scheme = url.scheme, schemes.contains(scheme), url.host?.isEmpty == false else {
            throw section.fail(key, "\(text) is not a \(schemes.joined(separator: " or ")) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    public var summary: String {
        guard enabled else { return "off (no [algolab] table)" }
        return "REST \(restURL), WebSocket \(webSocketURL)\(depth ? " (trades and top of book)" : " (trades)"), "
            + "API key \(apiKey.map { "\($0)" } ?? "missing"), session in \(sessionFile) "
            + "(key \(sessionKey.map { "\($0)" } ?? "in \(defaultSessionKeyFile)")), refreshed every \(refreshIntervalNanos / 1_000_000_000) s, "
            + "at most one request per \(Double(minimumRequestIntervalNanos) / 1e9) s"
    }
}
