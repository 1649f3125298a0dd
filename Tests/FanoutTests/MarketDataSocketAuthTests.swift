import Fanout
import Foundation
import Hummingbird
import HummingbirdWSClient
import Ingest
import NIOWebSocket
import TestSupport
import Testing

/// `/ws/market-data` behind a gate, over real sockets: the token at the upgrade or as the first
/// message, the window for it, refusals, the level's limits, and a token that expires while the
/// connection is open. The gate here stands for the auth module's verifier (tested over HTTP in
/// AuthTests) with tokens whose outcome the test picks.
@Suite(.serialized, .timeLimit(.minutes(5))) struct MarketDataSocketAuthTests {
    typealias Live = MarketDataSocketTests.LiveFanout

    struct TestGate: MarketDataGate {
        func admit(token: String) async -> Result<MarketDataPrincipal, MarketDataRefusal> {
            switch token {
            case "good":
                .success(MarketDataPrincipal(user: "u1", level: "basic", symbolLimit: 2, connectionLimit: 1, expiresNanos: Clock.wallNanos() + 3_600_000_000_000))
            case "short":
                .success(MarketDataPrincipal(user: "u2", level: "pro", symbolLimit: 10, connectionLimit: 5, expiresNanos: Clock.wallNanos() + 1_500_000_000))
            default:
                .failure(MarketDataRefusal("the token's signature does not verify"))
            }
        }
    }

    static func data(_ m: [String: Any]) -> [String: Any] { m["data"] as? [String: Any] ?? [:] }

    /// A client that sends `messages` (the first at once, each next after a reply) and records
    /// what comes until the server closes.
    static func session(_ live: Live, sending messages: [String], headers: HTTPFields = [:]) async throws -> (MarketDataSocketTests.Received, WebSocketCloseFrame?) {
        let received = MarketDataSocketTests.Received()
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders = headers
        let close = try await MarketDataSocketTests.closed(MarketDataSocketTests.client(live.url, configuration: configuration) { inbound, outbound, _ in
            var pending = messages[...]
            if let first = pending.popFirst() { try await outbound.write(.text(first)) }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { received.append(text) }
                if let next = pending.popFirst() { try await outbound.write(.text(next)) }
            }
        }, "the client's close")
        return (received, close)
    }

    @Test func theFirstMessageAuthenticatesAndTheLevelLimitsSymbols() async throws {
        let live = try await Live(gate: TestGate())
        let received = MarketDataSocketTests.Received()
        let client = MarketDataSocketTests.client(live.url) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            func next() async throws {
                guard case .text(let text)? = try await messages.next() else { throw TestTimeout("a text message") }
                received.append(text)
            }
            try await outbound.write(.text(#"{"type":"AUTH","token":"good"}"#))
            try await next()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN","AKBNK","THYAO"]}"#))
            try await next()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["GARAN","AKBNK"]}"#))
            try await next()
            try await next()
            try await outbound.write(.text(#"{"type":"SUBSCRIBE","symbols":["THYAO"]}"#))
            try await next()
        }
        _ = try await MarketDataSocketTests.closed(client, "the subscriber")
        #expect(received.types == ["AUTHENTICATED", "ERROR", "SUBSCRIBED", "SNAPSHOT", "ERROR"], "\(received.all)")
        let auth = Self.data(received.all[0])
        #expect(auth["userId"] as? String == "u1" && auth["subscriptionLevel"] as? String == "basic" && auth["symbolLimit"] as? Int == 2)
        #expect((Self.data(received.all[1])["message"] as? String)?.hasPrefix("at most 2 symbols per connection for the basic level") == true)
        #expect((Self.data(received.all[4])["message"] as? String)?.contains("(2 subscribed now)") == true)
        try await live.stop()
    }

    @Test func refusalsCloseWith1008AndSayWhy() async throws {
        let live = try await Live(gate: TestGate(), authenticationWindow: .seconds(1))
        // A bad token in AUTH; a first message that is not AUTH; nothing within the window.
        let (bad, badClose) = try await Self.session(live, sending: [#"{"type":"AUTH","token":"forged"}"#])
        #expect(bad.types == ["ERROR"] && (Self.data(bad.all[0])["message"] as? String) == "authentication failed: the token's signature does not verify")
        #expect(badClose?.closeCode == .policyViolation)
        let (notAuth, notAuthClose) = try await Self.session(live, sending: [#"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#])
        #expect(notAuth.types == ["ERROR"] && (Self.data(notAuth.all[0])["message"] as? String)?.contains(#"{"type":"AUTH","token":"<access token>"}"#) == true)
        #expect(notAuthClose?.closeCode == .policyViolation)
        let (silent, silentClose) = try await Self.session(live, sending: [])
        #expect(silent.types == ["ERROR"] && (Self.data(silent.all[0])["message"] as? String)?.hasPrefix("authenticate within 1 s") == true, "\(silent.all)")
        #expect(silentClose?.closeCode == .policyViolation && silentClose?.reason?.hasPrefix("authenticate within 1 s") == true)
        let (junk, _) = try await Self.session(live, sending: ["{\"type\":\"AUTH\",\"token\":" + String(repeating: "[", count: 5000)])
        #expect(junk.types == ["ERROR"])
        // A bad header: refused right after the upgrade (read off a plain socket: see aClientBeyondTheLimit…).
        for header in ["Authorization: Bearer forged\r\n", "Authorization: Basic dTpw\r\n"] {
            let (status, frames) = try await MarketDataSocketTests.handshake(port: live.port, frames: 2, headers: header)
            #expect(status.hasPrefix("HTTP/1.1 101") && frames.map(\.opcode) == [0x1, 0x8], "\(header)")
            let close = frames.last?.payload ?? []
            #expect(close.count > 2 && Int(close[0]) << 8 | Int(close[1]) == 1008)
        }
        #expect(live.hub.clientsConnected.load(ordering: .relaxed) == 0, "no refused client reached the hub")
        try await live.stop()
    }

    @Test func aHeaderTokenAuthenticatesAtTheUpgrade() async throws {
        let live = try await Live(gate: TestGate())
        let (status, frames) = try await MarketDataSocketTests.handshake(port: live.port, frames: 1, headers: "Authorization: Bearer good\r\n")
        #expect(status.hasPrefix("HTTP/1.1 101"))
        let text = String(decoding: frames.first?.payload ?? [], as: UTF8.self)
        #expect(text.hasPrefix(#"{"type":"AUTHENTICATED","data":{"userId":"u1","subscriptionLevel":"basic""#), "\(text)")
        try await live.stop()
    }

    @Test func aUserBeyondTheConnectionLimitIsRefused() async throws {
        let live = try await Live(gate: TestGate())
        let first = MarketDataSocketTests.Received()
        let holding = MarketDataSocketTests.client(live.url) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"AUTH","token":"good"}"#))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { first.append(text) }
            }
        }
        try await first.wait(for: 1)
        let (second, close) = try await Self.session(live, sending: [#"{"type":"AUTH","token":"good"}"#])
        #expect(second.types == ["ERROR"], "\(second.all)")
        #expect((Self.data(second.all[0])["message"] as? String) == "at most 1 connections at once for the basic level; close one first")
        #expect(close?.closeCode == .policyViolation)
        try await live.stop()
        _ = try await MarketDataSocketTests.closed(holding, "the held connection")
    }

    @Test func aTokenThatExpiresEndsTheConnectionWithTheReason() async throws {
        let live = try await Live(gate: TestGate())
        let started = ContinuousClock.now
        let (received, close) = try await Self.session(live, sending: [#"{"type":"AUTH","token":"short"}"#, #"{"type":"SUBSCRIBE","symbols":["GARAN"]}"#])
        #expect(Array(received.types.prefix(3)) == ["AUTHENTICATED", "SUBSCRIBED", "SNAPSHOT"] && received.types.last == "ERROR", "\(received.all)")
        #expect((Self.data(received.all.last!)["message"] as? String) == "the access token expired; reconnect with a new one")
        #expect(close?.closeCode == .policyViolation && close?.reason == "the access token expired; reconnect with a new one")
        #expect(ContinuousClock.now - started >= .milliseconds(1_000))
        try await live.stop()
    }
}
