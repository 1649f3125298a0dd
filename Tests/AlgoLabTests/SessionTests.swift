import AlgoLab
import Foundation
import Testing
import TestSupport

/// The session against the fake AlgoLab, which checks every header, Checker and ciphertext.
@Suite(.timeLimit(.minutes(2))) struct SessionTests {
    static let key = try! AlgoLabAPIKey(TestAlgoLab.apiKey)

    func client(_ fake: TestAlgoLab, interval: Duration = .milliseconds(50)) throws -> AlgoLabClient {
        try AlgoLabClient(apiKey: Self.key, restURL: fake.restURL, minimumInterval: interval, timeout: .seconds(20))
    }

    func login(_ client: AlgoLabClient) async throws -> String {
        let token = try await client.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
        return try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms)
    }

    @Test func theTwoStepLoginGivesASessionThatRefreshes() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let client = try client(fake)
        let token = try await client.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
        await #expect(throws: AlgoLabError.refused("Hatalı SMS kodu")) { try await client.confirmLogin(token: token, smsCode: "000000") }
        let hash = try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms)
        #expect(hash.hasPrefix("ey"))
        try await client.refreshSession(hash)
        // A token is good for one session.
        await #expect(throws: AlgoLabError.self) { try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms) }
        #expect(try await fake.calls() == ["LoginUser", "LoginUserControl", "LoginUserControl", "SessionRefresh", "LoginUserControl"])
        #expect(try await fake.rejected() == ["wrong SMS code", "token unknown or expired"])
        await client.shutdown()
    }

    @Test func wrongPasswordAndExpiredTokenAreRefusedWithAlgoLabsWords() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0", "--token-ttl", "0.3"])
        let client = try client(fake)
        await #expect(throws: AlgoLabError.refused("Kullanıcı adı veya şifre hatalı")) {
            try await client.startLogin(username: TestAlgoLab.user, password: "wrong")
        }
        let token = try await client.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
        try await Task.sleep(for: .milliseconds(600))
        await #expect(throws: AlgoLabError.refused("Token süresi dolmuş, tekrar giriş yapınız")) {
            try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms)
        }
        // Another API key: AlgoLab cannot decrypt the fields.
        let other = try AlgoLabClient(apiKey: AlgoLabAPIKey("API-" + Data(repeating: 7, count: 32).base64EncodedString()), restURL: fake.restURL)
        await #expect(throws: AlgoLabError.self) { try await other.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password) }
        await other.shutdown()
        await client.shutdown()
    }

    @Test func expiredSessionsRateLimitsAndServerErrorsAreTyped() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let client = try client(fake)
        let hash = try await login(client)
        try await fake.control("fail", ["endpoint": "SessionRefresh", "status": 429])
        await #expect(throws: AlgoLabError.rateLimited) { try await client.refreshSession(hash) }
        try await fake.control("fail", ["endpoint": "SessionRefresh", "status": 503])
        await #expect(throws: AlgoLabError.server(status: 503, message: "fake failure 503")) { try await client.refreshSession(hash) }
        try await client.refreshSession(hash)
        try await fake.control("expire")
        await #expect(throws: AlgoLabError.sessionExpired("Oturum süresi doldu")) { try await client.refreshSession(hash) }
        await #expect(throws: AlgoLabError.sessionExpired("Oturum süresi doldu")) { try await client.refreshSession("forged") }
        #expect(try await fake.rejected() == ["session expired or unknown", "session expired or unknown"])
        // Nothing answering: a transport error, retryable.
        let nowhere = try AlgoLabClient(apiKey: Self.key, restURL: "http://127.0.0.1:1/api", timeout: .seconds(5))
        do {
            try await nowhere.refreshSession(hash)
            Issue.record("a call to a closed port succeeded")
        } catch {
            guard case .transport = error else { Issue.record("not a transport error: \(error)"); return }
            #expect(error.isRetryable)
        }
        await nowhere.shutdown()
        await client.shutdown()
    }

    @Test func requestsKeepToOnePerInterval() async throws {
        // The fake answers 429 to a request that arrives less than 0.3 s after the one before. The
        // client sends each request 0.6 s after the reply to the one before: an arrival comes
        // before its reply, so no delay on a busy machine brings two arrivals closer.
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0.3"])
        let client = try client(fake, interval: .milliseconds(600))
        let hash = try await login(client)
        var start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { try await client.refreshSession(hash) } }
            try await group.waitForAll()
        }
        #expect(ContinuousClock.now - start >= .milliseconds(1800))
        #expect(try await fake.calls().filter { $0 == "SessionRefresh" }.count == 4)
        // Slow replies: the next request waits for the reply, then the interval (3 × (0.4 + 0.6) s).
        try await fake.control("slow", ["endpoint": "SessionRefresh", "seconds": 0.4, "count": 3])
        start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { try await client.refreshSession(hash) } }
            try await group.waitForAll()
        }
        #expect(ContinuousClock.now - start >= .milliseconds(3000))
        #expect(try await fake.calls().filter { $0 == "SessionRefresh" }.count == 8)
        // Without the pacing the fake says 429 (five at once: at least one comes too soon, however busy the machine).
        let eager = try AlgoLabClient(apiKey: Self.key, restURL: fake.restURL, minimumInterval: .zero)
        let limited = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do { try await eager.refreshSession(hash); return false } catch { return (error as? AlgoLabError) == .rateLimited }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(limited >= 1)
        await eager.shutdown()
        await client.shutdown()
    }

    @Test func theSessionFileIsSealedAndBoundToTheKey() throws {
        let directory = NSTemporaryDirectory() + "akis-algolab-\(UUID().uuidString)"
        let path = directory + "/session"
        let key = Data(repeating: 1, count: 32).base64EncodedString()
        let file = try AlgoLabSessionFile(path: path, sessionKey: key, apiKey: Self.key)
        #expect(try file.load() == nil)
        try file.save(.init(hash: "secret-hash", created: 42))
        #expect(try file.load() == .init(hash: "secret-hash", created: 42))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("secret-hash"))
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let otherKey = try AlgoLabSessionFile(path: path, sessionKey: Data(repeating: 2, count: 32).base64EncodedString(), apiKey: Self.key)
        #expect(throws: AlgoLabError.self) { try otherKey.load() }
        let otherAPIKey = try AlgoLabSessionFile(path: path, sessionKey: key, apiKey: AlgoLabAPIKey("API-" + Data(repeating: 3, count: 32).base64EncodedString()))
        #expect(throws: AlgoLabError.self) { try otherAPIKey.load() }
        #expect(throws: AlgoLabError.self) { try AlgoLabSessionFile(path: path, sessionKey: "short", apiKey: Self.key) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func theKeeperChecksRefreshesAndNoticesExpiryAndANewLogin() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let client = try client(fake)
        let directory = NSTemporaryDirectory() + "akis-algolab-\(UUID().uuidString)"
        let file = try AlgoLabSessionFile(path: directory + "/session", sessionKey: Data(repeating: 1, count: 32).base64EncodedString(), apiKey: Self.key)
        let lines = LogLines()
        let keeper = AlgoLabSessionKeeper(client: client, file: file, refreshInterval: .milliseconds(200), log: { lines.append($0) })
        await keeper.step()
        #expect(keeper.state == .none && keeper.problem?.contains("akis algolab login") == true && keeper.authorization == nil)
        let hash = try await login(client)
        try file.save(.init(hash: hash, created: 1))
        await keeper.step()
        #expect(keeper.state == .live(hash) && keeper.problem == nil && keeper.authorization == hash)
        try await Task.sleep(for: .milliseconds(250))
        await keeper.step()
        #expect(keeper.refreshes.load(ordering: .relaxed) == 2)
        try await fake.control("expire")
        try await Task.sleep(for: .milliseconds(250))
        await keeper.step()
        guard case .dead = keeper.state else { Issue.record("still \(keeper.state)"); return }
        #expect(keeper.authorization == nil && keeper.problem?.contains("gone") == true)
        // A new login while the daemon runs is taken up (the file's time moves on).
        try await Task.sleep(for: .milliseconds(1100))
        let second = try await login(client)
        try file.save(.init(hash: second, created: 2))
        await keeper.step()
        #expect(keeper.state == .live(second))
        #expect(!lines.all.joined().contains(hash) && !lines.all.joined().contains(second))
        await client.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

extension SessionTests {
    @Test func aRecheckFindsAnExpiredSessionBeforeTheNextRefresh() async throws {
        let fake = try await TestAlgoLab.start(arguments: ["--min-interval", "0"])
        let session = try await LiveSession(fake)
        #expect(session.keeper.problem == nil)
        try await fake.control("expire")
        await session.keeper.step()
        #expect(session.keeper.problem == nil, "not due for a refresh yet")
        session.keeper.recheck()
        await session.keeper.step()
        #expect(session.keeper.authorization == nil && session.keeper.problem?.contains("gone") == true)
        await session.close()
    }
}
