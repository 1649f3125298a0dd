import AkisConfig
import Foundation

/// The account `[algolab]` names: its REST client and its session file, opened from the
/// settings (the API key and the session key read from where they are kept). For the daemon and
/// for `akis algolab …` alike.
public struct AlgoLabAccount: Sendable {
    public let client: AlgoLabClient
    public let sessionFile: AlgoLabSessionFile

    public init(_ settings: AlgoLabSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws(AlgoLabError) {
        guard settings.enabled, let source = settings.apiKey else { throw .configuration("no [algolab] table in the configuration") }
        let apiKey: AlgoLabAPIKey
        let sessionKey: String
        do {
            apiKey = try AlgoLabAPIKey(try source.read(environment: environment))
        } catch {
            throw .configuration("api_key: \(error)")
        }
        do {
            sessionKey = try settings.sessionKey?.read(environment: environment)
                ?? SecretSource.generatedFile(at: settings.defaultSessionKeyFile, bytes: 32)
        } catch {
            throw .configuration("session_key: \(error)")
        }
        sessionFile = try AlgoLabSessionFile(path: settings.sessionFile, sessionKey: sessionKey, apiKey: apiKey)
        client = try AlgoLabClient(apiKey: apiKey, restURL: settings.restURL, caFile: settings.caFile,
                                   minimumInterval: .nanoseconds(settings.minimumRequestIntervalNanos),
                                   timeout: .nanoseconds(settings.requestTimeoutNanos))
    }
}
