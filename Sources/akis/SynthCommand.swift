import ArgumentParser
import Ingest

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic synthetic recording of realistic BIST ticks.",
        discussion: """
            Ticks start at the continuous session's open (10:00 Europe/Istanbul) on --date, for BIST-30 \
            symbols, with prices on valid BIST price steps. The same options always produce the same ticks.

            --format bist-itch writes a BIST ITCH session in MoldUDP64 packets instead (one record per \
            packet; --rate and --duration then count order messages): play it to a multicast group with \
            `akis replay --to udp://GROUP:PORT`.
            """)

    @Option(help: "Number of symbols (1-30, taken from the BIST-30 list).") var symbols = 10
    @Option(help: "Mean ticks per second.") var rate: Double = 1000
    @Option(help: "Session time to cover: 90, 90s, 5m, 1h.") var duration = "60s"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Session date (YYYY-MM-DD).") var date = "2024-09-24"
    @Option(help: "Payload format: binary, json or bist-itch.") var format: FeedFormatOption = .binary
    @Option(help: "bist-itch: the MoldUDP64 session name (10 letters or digits).") var session = "AKIS000001"
    @Option(help: "bist-itch: a heartbeat packet after every N packets (0: none).") var heartbeatEvery = 0
    @Option(help: "bist-itch: leave out every Nth packet, to make gaps for recovery (0: none).") var dropEvery = 0
    @Option(name: .long, help: "Recording file to write.") var out: String
    @Flag(help: "Overwrite --out if it exists.") var force = false

    func run() throws {
        guard let seconds = parseDuration(duration) else { throw ValidationError("--duration: cannot read \(duration.debugDescription); use 90, 90s, 5m or 1h") }
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { throw ValidationError("--date must look like 2024-09-24") }
        let parameters = SyntheticFeed.Parameters(symbolCount: symbols, rate: rate, duration: seconds, seed: seed,
                                                  date: (parts[0], parts[1], parts[2]))
        if let error = parameters.validationError() { throw ValidationError(error) }
        if format == .bistITCH { return try writeITCH(seconds: seconds, date: (parts[0], parts[1], parts[2])) }
        let feed = try SyntheticFeed(parameters)
        let summary = try SynthesisWriter.write(feed, format: format == .binary ? .binary : .jsonLines, to: out, overwrite: force) { n in
            printError("synth: \(grouped(n)) ticks written…")
        }
        print("wrote \(grouped(summary.ticks)) ticks (\(format.rawValue), \(symbols) symbols, \(seconds) s at ~\(rate)/s) to \(out): \(grouped(UInt64(summary.bytes))) bytes")
    }

    private func writeITCH(seconds: Double, date: (Int, Int, Int)) throws {
        guard dropEvery >= 0 else { throw ValidationError("--drop-every must not be negative") }
        let messages = Int((rate * seconds).rounded())
        let parameters = SyntheticITCHSession.Parameters(symbolCount: symbols, messages: messages, rate: rate, seed: seed, session: session,
                                                         heartbeatEvery: heartbeatEvery, date: date)
        if let error = parameters.validationError() { throw ValidationError(error) }
        printError("synth: building \(grouped(UInt64(messages))) order messages…")
        var itch = try SyntheticITCHSession(parameters)
        var dropped = 0
        if dropEvery > 0 {
            // Only packets with messages: heartbeats and the end of session stay.
            var n = 0
            itch.packets.removeAll { p in
                guard p.messageCount > 0 else { return false }
                n += 1
                if n % dropEvery == 0 { dropped += p.messageCount; return true }
                return false
            }
        }
        let source = "synth bist-itch symbols=\(symbols) messages=\(messages) rate=\(rate) seed=\(seed) session=\(session)"
            + (dropEvery > 0 ? " drop-every=\(dropEvery)" : "")
        let summary = try SynthesisWriter.write(itch, source: source, to: out, overwrite: force)
        print("wrote \(grouped(UInt64(itch.messages.count))) BIST ITCH messages in \(grouped(UInt64(itch.packets.count))) MoldUDP64 packets "
              + "(session \(session), \(symbols) symbols) to \(out): \(grouped(UInt64(summary.bytes))) bytes"
              + (dropEvery > 0 ? "; \(grouped(UInt64(dropped))) messages left out for a rewinder to recover" : ""))
    }
}

/// Progress and diagnostics go to standard error; results to standard output.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

import Foundation
