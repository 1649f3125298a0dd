import Foundation
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
        let none = try AkisProcess(["algolab", "status", "--config", config], environment: environment).wait()
        #expect(none.status != 0 && none.stderr.contains("no session"))

        // A wrong SMS code first, then the right one; secrets come on standard input only.
        let login = try AkisProcess(["algolab", "login", "--config", config, "--user", TestAlgoLab.user], environment: environment,
                                    input: "\(TestAlgoLab.password)\n000000\n\(TestAlgoLab.sms)\n").wait()
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout.contains("Hatalı SMS kodu") && login.stdout.contains("session stored in \(directory)/algolab/session"))
        #expect(!(login.stdout + login.stderr).contains(TestAlgoLab.password))
        let mode = (try FileManager.default.attributesOfItem(atPath: directory + "/algolab/session")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(FileManager.default.fileExists(atPath: directory + "/algolab/session.key"))

        let status = try AkisProcess(["algolab", "status", "--config", config], environment: environment).wait()
        #expect(status.status == 0 && status.stdout.contains("is live"), "\(status.stderr)")

        // Without the key in the environment: a clear error that names where it was looked for.
        let keyless = try AkisProcess(["algolab", "status", "--config", config]).wait()
        #expect(keyless.status != 0 && keyless.stderr.contains("TEST_ALGOLAB_KEY"))
        let check = try AkisProcess(["serve", "--config", config, "--check-config"], environment: environment).wait()
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
        let ready = scratchFile("ready")
        let serve = try AkisProcess(["serve", "--config", config, "--ready-file", ready], environment: environment)
        try await waitUntil("the daemon is up", within: .seconds(60)) {
            guard serve.process.isRunning else { throw CLIFailure("serve stopped: \(serve.log)") }
            return !((try? String(contentsOfFile: ready, encoding: .utf8))?.isEmpty ?? true)
        }
        let http = try #require(try String(contentsOfFile: ready, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("http ") }?.dropFirst(5))
        let before = try await httpGet(String(http), "/readyz")
        #expect(before.status == 503 && before.body.contains("akis algolab login"))

        let login = try AkisProcess(["algolab", "login", "--config", config, "--user", TestAlgoLab.user], environment: environment,
                                    input: "\(TestAlgoLab.password)\n\(TestAlgoLab.sms)\n").wait()
        #expect(login.status == 0, "\(login.stderr)")
        try await waitUntil("the daemon takes up the session", within: .seconds(30), every: .milliseconds(100)) {
            try httpGet(String(http), "/readyz").status == 200
        }
        #expect(try await httpGet(String(http), "/metrics").body.contains("akis_algolab_session_live 1"))
        try await fake.control("expire")
        try await waitUntil("the daemon notices the expiry", within: .seconds(30), every: .milliseconds(100)) {
            try httpGet(String(http), "/readyz").status == 503
        }
        #expect(try await httpGet(String(http), "/metrics").body.contains("akis_algolab_session_live 0"))
        kill(serve.process.processIdentifier, SIGTERM)
        let result = serve.wait()
        #expect(result.status == 0)
        #expect(result.stderr.contains("algolab: the session has expired"))
        let session = try String(contentsOfFile: directory + "/algolab/session", encoding: .utf8)
        #expect(!result.stderr.contains(session.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!result.stderr.contains(TestAlgoLab.apiKey))
    }
}
