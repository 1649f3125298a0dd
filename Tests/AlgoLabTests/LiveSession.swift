import AlgoLab
import Foundation
import TestSupport

/// A client of `fake` and a keeper holding a session logged in for real (both steps).
struct LiveSession {
    let client: AlgoLabClient
    let keeper: AlgoLabSessionKeeper
    let directory: String

    init(_ fake: TestAlgoLab) async throws {
        let key = try AlgoLabAPIKey(TestAlgoLab.apiKey)
        client = try AlgoLabClient(apiKey: key, restURL: fake.restURL, minimumInterval: .zero)
        directory = NSTemporaryDirectory() + "akis-algolab-\(UUID().uuidString)"
        let file = try AlgoLabSessionFile(path: directory + "/session", sessionKey: Data(repeating: 5, count: 32).base64EncodedString(), apiKey: key)
        keeper = AlgoLabSessionKeeper(client: client, file: file, refreshInterval: .seconds(60), log: { _ in })
        let token = try await client.startLogin(username: TestAlgoLab.user, password: TestAlgoLab.password)
        try file.save(.init(hash: try await client.confirmLogin(token: token, smsCode: TestAlgoLab.sms), created: 0))
        await keeper.step()
    }

    func close() async {
        await client.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
