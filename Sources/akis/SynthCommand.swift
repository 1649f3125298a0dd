import ArgumentParser
import Ingest

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic synthetic recording of realistic BIST ticks.",
        discussion: """
            Ticks start at the continuous session's open (10:00 Europe/Istanbul) on --date, for BIST-30 \
            symbols, with prices on valid BIST price steps. The same options always produce the same ticks.
            """)

    @Option(help: "Number of symbols (1-30, taken from the BIST-30 list).") var symbols = 10
    @Option(help: "Mean ticks per second.") var rate: Double = 1000
    @Option(help: "Session time to cover: 90, 90s, 5m, 1h.") var duration = "60s"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Session date (YYYY-MM-DD).") var date = "2024-09-24"
    @Option(help: "Payload format: binary or json.") var format: FeedFormatOption = .binary
    @Option(name: .long, help: "Recording file to write.") var out: String
    @Flag(help: "Overwrite --out if it exists.") var force = false

    func run() throws {
        guard let seconds = parseDuration(duration) else { throw ValidationError("--duration: cannot read \(duration.debugDescription); use 90, 90s, 5m or 1h") }
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { throw ValidationError("--date must look like 2024-09-24") }
        let parameters = SyntheticFeed.Parameters(symbolCount: symbols, rate: rate, duration: seconds, seed: seed,
                                                  date: (parts[0], parts[1], parts[2]))
        if let error = parameters.validationError() { throw ValidationError(error) }
        let feed = try SyntheticFeed(parameters)
        let summary = try SynthesisWriter.write(feed, format: format == .binary ? .binary : .jsonLines, to: out, overwrite: force) { n in
            printError("synth: \(grouped(n)) ticks written…")
        }
        print("wrote \(grouped(summary.ticks)) ticks (\(format.rawValue), \(symbols) symbols, \(seconds) s at ~\(rate)/s) to \(out): \(grouped(UInt64(summary.bytes))) bytes")
    }
}

/// Progress and diagnostics go to standard error; results to standard output.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

import Foundation
