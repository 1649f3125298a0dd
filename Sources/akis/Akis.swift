import ArgumentParser
import Ingest

@main
struct Akis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "akis",
        abstract: "Low-latency market-data ingestion for Borsa Istanbul equities.",
        subcommands: [Serve.self, Migrate.self, Audit.self, EventsCommand.self, UsersCommand.self, AccountsCommand.self, AlgoLabCommand.self, Record.self, Replay.self, Synth.self, Import.self, Subscribe.self, BenchCommand.self]
    )

    /// `akis serve` alone runs on the cooperative pool: a daemon of services that never block it
    /// (its few blocking steps run under `BlockingExecutor`). Every other command is a one-shot
    /// tool that blocks as it goes (libpq, child processes, sleeps), so it runs on `BlockingExecutor`.
    static func main() async {
        do {
            let command = try await asyncParseAsRoot(nil)
            if let serve = command as? Serve {
                try await serve.run()
            } else {
                try await runOffThePool(command)
            }
        } catch {
            exit(withError: error)
        }
    }

    private static func runOffThePool(_ command: sending ParsableCommand) async throws {
        var command = command
        try await withTaskExecutorPreference(BlockingExecutor.shared) {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        }
    }
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
