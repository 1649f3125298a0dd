import ArgumentParser
import Ingest

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a recording back over TCP or UDP with its original pacing scaled.")

    @Argument(help: "Recording file.") var file: String
    @Option(help: "Where to send: tcp://HOST:PORT or udp://HOST:PORT.") var to: String
    @Option(help: "1 = real time, 10 = ten times faster, max = as fast as possible.") var speed = "1"
    @Option(help: "For a UDP multicast group: the local IPv4 address of the interface to send on (127.0.0.1 for loopback).")
    var multicastInterface: String?

    func run() throws {
        guard let speed = Replayer.Speed(speed) else { throw ValidationError("--speed must be a positive number or 'max', got \(speed.debugDescription)") }
        let address: FeedAddress
        do { address = try FeedAddress(parsing: to) } catch { throw ValidationError("--to: \(error)") }
        let reader = try RecordingReader(path: file)
        let socket = try Socket.connect(to: address, multicastInterface: multicastInterface)
        printError("replaying \(file) (\(reader.header.source)) to \(address) at speed \(speed)")
        var lastSent = Replayer.Report(records: 0, bytes: 0, elapsedNanos: 0)
        do {
            let report = try Replayer.replay(reader, to: socket, speed: speed, progress: { p in
                printError(String(format: "replay: %@ records, %.1f MB, %3.0f%% of file, %.1f s",
                                  grouped(p.records), Double(p.bytes) / 1e6, p.fraction * 100, Double(p.elapsedNanos) / 1e9))
            }, sent: { lastSent = $0 })
            socket.shutdownWrite()
            print(String(format: "replayed %@ records (%@ bytes) to %@ in %.2f s: %@ records/s",
                         grouped(report.records), grouped(report.bytes), address.description,
                         Double(report.elapsedNanos) / 1e9, grouped(UInt64(report.recordsPerSecond))))
        } catch {
            printError("replay stopped after \(grouped(lastSent.records)) records (\(grouped(lastSent.bytes)) bytes)")
            throw CLIError("\(error)")
        }
    }
}

import Foundation
