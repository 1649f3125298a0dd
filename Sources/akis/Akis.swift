import ArgumentParser

@main
struct Akis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "akis",
        abstract: "Low-latency market-data ingestion for Borsa Istanbul equities.",
        subcommands: [Serve.self, Migrate.self, Audit.self, EventsCommand.self, UsersCommand.self, AlgoLabCommand.self, Record.self, Replay.self, Synth.self, Import.self, Subscribe.self, BenchCommand.self]
    )
}

/// A runtime failure reported to the user as one clear line (exit status 1).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension FeedFormatOption: ExpressibleByArgument {}

/// `--format`: the wire format of a feed.
enum FeedFormatOption: String, CaseIterable {
    case binary, json
    case bistITCH = "bist-itch"
}
