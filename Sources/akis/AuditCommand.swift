import AkisConfig
import ArgumentParser
import Daemon
import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the event store's audit chains.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every link of the event store's audit chains (or one topic's).",
            discussion: """
                Each topic's events are chained: every event's hash covers the hash before it, its \
                sequence number and its bytes. This reads them in order, from the last event retention \
                removed to the chain's head, and names the first broken link. Exit status 1 when one is \
                broken.
                """)

        @Option(help: "Configuration file (TOML) whose [database] url to use.") var config: String?
        @Option(help: "A libpq connection string; overrides the configuration's.") var database: String?
        @Option(help: "Only this topic (\(Topic.allCases.map(\.rawValue).joined(separator: ", "))).") var topic: String?

        func run() async throws {
            let topics: [Topic]
            if let topic {
                guard let t = Topic(rawValue: topic) else {
                    throw ValidationError("--topic \(topic) is not one of \(Topic.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                topics = [t]
            } else {
                topics = Topic.allCases
            }
            let url = try databaseURL(database: database, config: config)
            let client = PostgresClient(configuration: try .init(conninfo: url))
            let logger = Logger(label: "akis-audit")
            let started = ContinuousClock.now
            let reports = try await withThrowingTaskGroup(of: [AuditVerification.TopicReport]?.self) { group in
                group.addTask { await client.run(); return nil }
                defer { group.cancelAll() }
                do {
                    return try await AuditVerification.run(client: client, topics: topics, logger: logger) { topic, n in
                        FileHandle.standardError.write(Data("\(topic.rawValue): \(grouped(UInt64(n))) events checked\n".utf8))
                    }
                } catch let broken as AuditVerification.TopicBrokenLink {
                    throw CLIError("\(broken)")
                }
            }
            for r in reports {
                print("\(r.topic.rawValue): \(grouped(UInt64(r.checked))) events verified"
                    + (r.after > 0 ? " (after event \(r.after), the last one retention removed)" : "") + ", head at \(r.head)")
            }
            print("audit chains intact (\(reports.reduce(0) { $0 + $1.checked }) events in \(ContinuousClock.now - started))")
        }
    }
}

/// The database a command works on: `--database`, or the `[database] url` of `--config`.
func databaseURL(database: String?, config: String?) throws -> String {
    if let database { return database }
    guard let config else { throw ValidationError("no database: pass --database CONNINFO or a --config with [database] url") }
    return try databaseURL(database: nil, configuration: Serve.readConfiguration(config), path: config)
}

/// `--database`, or the `[database] url` of the configuration read from `path`.
func databaseURL(database: String?, configuration: AkisConfiguration?, path: String?) throws -> String {
    if let database { return database }
    guard let configuration, let path else { throw ValidationError("no database: pass --database CONNINFO or a --config with [database] url") }
    guard let url = configuration.databaseURL else { throw ValidationError("\(path) has no [database] url") }
    return url
}
