import ArgumentParser
import Foundation
import Ingest

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a recorded exchange file into an Akis recording of ticks (for akis replay and akis bench).",
        subcommands: [ImportITCH50.self])
}

struct ImportITCH50: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "itch50",
        abstract: "Import a Nasdaq TotalView-ITCH 5.0 file (such as Nasdaq's public sample days).",
        discussion: """
            Every order message is replayed into full-depth books per stock: trades (executions, \
            printable executions with price, non-displayed trades and crosses) and a quote whenever a \
            stock's best bid or ask changes become ticks in Akis binary frames, numbered from 1, timed \
            at the file's nanoseconds after midnight of --date in --time-zone. Symbols are the file's; \
            one Akis cannot hold (with a space, longer than 8 characters) is skipped. The daemon that \
            receives the recording needs them in [market] symbols: the line to paste is printed.
            """)

    @Argument(help: "The ITCH 5.0 file (each message after a 2-byte length).") var file: String
    @Option(name: .long, help: "Recording file to write.") var out: String
    @Option(help: "The file's trading day (YYYY-MM-DD); default: a YYYYMMDD in the file's name.") var date: String?
    @Option(help: "The time zone the file's times count from midnight in.") var timeZone = "America/New_York"
    @Flag(help: "Overwrite --out if it exists.") var force = false

    func run() throws {
        guard let day = try tradingDay() else {
            throw ValidationError("--date is needed: \(Sanitized(file)) has no YYYYMMDD in its name")
        }
        guard let midnight = ITCH50Ticks.midnight(year: day.0, month: day.1, day: day.2, timeZone: timeZone) else {
            throw ValidationError("--time-zone \(Sanitized(timeZone)) is not a time zone name such as America/New_York")
        }
        let writer = try RecordingWriter(path: out, header: RecordingHeader(payload: .binary, transport: .unknown, startTime: midnight,
                                                                            source: "import itch50 \(URL(fileURLWithPath: file).lastPathComponent)"),
                                         overwrite: force)
        var converter = ITCH50Ticks(midnight: midnight)
        var frame: [UInt8] = []
        var made: [Tick] = []
        var ticks: UInt64 = 0
        do {
            try ITCH50File(path: file).forEachMessage { bytes in
                made.removeAll(keepingCapacity: true)
                if let error = converter.apply(bytes, emit: { made.append($0) }) {
                    throw CLIError("\(file): message \(converter.stats.messages + 1): \(error)")
                }
                for var tick in made {
                    ticks += 1
                    tick.sequence = ticks
                    frame.removeAll(keepingCapacity: true)
                    BinaryFrameCodec.encode(tick, symbols: converter.symbols, into: &frame)
                    try writer.append(receiveTime: tick.exchangeTime, payload: frame)
                }
                if converter.stats.messages % 5_000_000 == 0 { printError("import: \(grouped(UInt64(converter.stats.messages))) messages…") }
            }
        } catch let error as ITCH50File.ReadError {
            try? writer.close()
            throw CLIError("\(file): \(error) (the recording holds the \(grouped(ticks)) ticks before it)")
        }
        try writer.close()
        let s = converter.stats
        print("imported \(grouped(UInt64(s.messages))) ITCH 5.0 messages: \(grouped(ticks)) ticks (\(grouped(UInt64(s.trades))) trades, "
              + "\(grouped(UInt64(s.quotes))) quotes) of \(converter.symbols.count) symbols to \(out): \(grouped(UInt64(writer.bytesWritten))) bytes")
        if !converter.skippedSymbols.isEmpty {
            print("skipped \(converter.skippedSymbols.count) symbols Akis cannot hold (\(grouped(UInt64(s.skipped))) messages): "
                  + converter.skippedSymbols.prefix(10).map { Sanitized($0).description }.joined(separator: ", "))
        }
        let rejected = converter.replay.rejected.values.reduce(0, +)
        if rejected > 0 { print("\(grouped(UInt64(rejected))) order messages named orders the file does not add (it starts mid-day); they changed nothing") }
        print("the daemon that receives it needs these symbols:\n[market]\nsymbols = [" + converter.symbols.allNames.map { "\"\($0)\"" }.joined(separator: ", ") + "]")
    }

    private func tradingDay() throws -> (Int, Int, Int)? {
        if let date {
            let parts = date.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3 else { throw ValidationError("--date must look like 2019-01-30") }
            return (parts[0], parts[1], parts[2])
        }
        let name = URL(fileURLWithPath: file).lastPathComponent
        guard let range = name.range(of: #"(19|20)[0-9]{6}"#, options: .regularExpression) else { return nil }
        let digits = Array(name[range]).compactMap { $0.wholeNumberValue }
        func number(_ r: Range<Int>) -> Int { digits[r].reduce(0) { $0 * 10 + $1 } }
        return (number(0..<4), number(4..<6), number(6..<8))
    }
}
