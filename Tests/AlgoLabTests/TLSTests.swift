import AlgoLab
import Foundation
import Ingest
import Testing
import TestSupport

/// AlgoLab is reached over TLS (https, wss): the REST client and the WebSocket feed against the
/// fake serving a self-signed certificate, trusted through `ca_file` and refused without it.
@Suite(.timeLimit(.minutes(2))) struct TLSTests {
    @Test func restAndWebSocketGoOverTLSWithTheGivenTrustRoot() async throws {
        let directory = NSTemporaryDirectory() + "akis-algolab-tls-\(UUID().uuidString)"
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0", "--tls", directory])
        let port = try #require(fake.tlsPort)
        let key = try AlgoLabAPIKey(TestAlgoLab.apiKey)
        let caFile = directory + "/cert.pem"

        let untrusting = try AlgoLabClient(apiKey: key, restURL: "https://127.0.0.1:\(port)/api", minimumInterval: .zero, timeout: .seconds(3))
        do {
            _ = try await untrusting.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
            Issue.record("a certificate nobody trusts was accepted")
        } catch {
            guard case .transport(let why) = error else { Issue.record("not a transport error: \(error)"); return }
            #expect(why.contains("ertificate") || why.contains("handshake") || why.contains("CERTIFICATE"), "\(why)")
        }
        await untrusting.shutdown()

        let client = try AlgoLabClient(apiKey: key, restURL: "https://127.0.0.1:\(port)/api", caFile: caFile, minimumInterval: .zero)
        let token = try await client.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
        let hash = try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms)
        let file = try AlgoLabSessionFile(path: directory + "/session", sessionKey: Data(repeating: 5, count: 32).base64EncodedString(), apiKey: key)
        try file.save(.init(hash: hash, created: 0))
        let keeper = AlgoLabSessionKeeper(client: client, file: file, refreshInterval: .seconds(60), log: { _ in })
        await keeper.step()
        #expect(keeper.problem == nil)

        let endpoint = FeedEndpoint(name: "algolab", id: 1, address: FeedAddress(transport: .tcp, host: "algolab", port: 0), role: .connect, format: .algolab)
        let feed = AlgoLabFeed(feed: endpoint, symbols: try SymbolTable(BISTMarket.bist30), ringCapacity: 1024, doorbell: Doorbell(), checkpoint: nil,
                               keeper: keeper, orderUpdates: AlgoLabOrderUpdates(),
                               options: .init(webSocketURL: "wss://localhost:\(port)/api/ws"), announce: { _ in }, log: { _ in })
        let running = Task { try await feed.run() }
        try await eventually("the feed subscribes over wss", within: .seconds(30)) { try await fake.log()["subscribed"] as? Int == 1 }
        try await fake.control("send", ["message": #"{"Type":"T","Content":{"Symbol":"GARAN","Price":121.5,"TradeQuantity":7,"Date":"2024-09-25T10:09:00+03:00"}}"#])
        var ticks: [Tick] = []
        try await waitUntil("the tick over wss", within: .seconds(30), every: .milliseconds(10)) {
            _ = feed.ring.drain { ticks.append(contentsOf: $0) }
            return !ticks.isEmpty
        }
        #expect(ticks.first?.price == Price("121.5") && ticks.first?.quantity == 7)
        #expect(try await fake.rejected().isEmpty)
        running.cancel()
        _ = try? await value(of: running, within: .seconds(20), "the feed stops")
        await client.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
