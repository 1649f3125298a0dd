import ArgumentParser
import Events
import Foundation
import Ingest
import Logging
import PostgresNIO

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "The event store's consumers.",
        subcommands: [DeadLetterCommand.self, EventsBenchCommand.self])
}

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "The events consumers gave up on after their retries.",
        discussion: """
            list: every dead letter with its consumer, event and error. retry: asks the consumers to \
            try them again (a running daemon takes them at once). drop: removes them for good.
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable { case list, retry, drop }

    @Argument(help: "list, retry or drop.") var action: Action
    @Argument(help: "The dead letters' ids (retry and drop).") var ids: [Int64] = []
    @Flag(help: "retry or drop every dead letter.") var all = false
    @Option(help: "Configuration file (TOML) whose [database] url to use.") var config: String?
    @Option(help: "A libpq connection string; overrides the configuration's.") var database: String?

    func validate() throws {
        switch action {
        case .list:
            guard ids.isEmpty && !all else { throw ValidationError("list takes no ids and no --all") }
        case .retry, .drop:
            guard ids.isEmpty != !all else { throw ValidationError("\(action.rawValue) needs the dead letters' ids, or --all (not both)") }
        }
    }

    func run() async throws {
        let client = PostgresClient(configuration: try .init(conninfo: try databaseURL(database: database, config: config)))
        let logger = Logger(label: "akis-events")
        let chosen = all ? nil : ids
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            switch action {
            case .list:
                let letters = try await DeadLetters.list(client: client, logger: logger)
                for l in letters {
                    print("\(l.id)  \(l.consumer)  \(l.topic) #\(l.sequence) \(l.type) \(l.eventID.uuidString.lowercased())  "
                        + "\(l.attempts) attempts, last \(UTCTime.formatISO8601(Int64(l.failedAt.timeIntervalSince1970 * 1e9)))"
                        + (l.retryRequested ? "  (retry asked)" : "") + "\n    \(l.error)")
                }
                print("\(letters.count) dead letters")
            case .retry:
                let n = try await DeadLetters.retry(chosen, client: client, logger: logger)
                print("\(n) dead letters to be retried")
                if let ids = chosen, n < ids.count { throw CLIError("\(ids.count - n) of the ids given are not dead letters") }
            case .drop:
                let n = try await DeadLetters.drop(chosen, client: client, logger: logger)
                print("\(n) dead letters dropped")
                if let ids = chosen, n < ids.count { throw CLIError("\(ids.count - n) of the ids given are not dead letters") }
            }
        }
    }
}
