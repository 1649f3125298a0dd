import ArgumentParser
import Ingest

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture what arrives on a TCP or UDP address into a recording file.",
        discussion: "TCP connections are recorded one after another; stop with Ctrl-C (or --duration).")

    @Option(help: "Address to listen on: tcp://HOST:PORT or udp://HOST:PORT (port 0 picks one).") var listen: String
    @Option(name: .long, help: "Recording file to write.") var out: String
    @Option(help: "What the bytes are: binary, json, or raw.") var format = "binary"
    @Option(help: "Stop after this long (90, 90s, 5m, 1h); default: until Ctrl-C.") var duration: String?
    @Flag(help: "Overwrite --out if it exists.") var force = false

    func run() throws {
        let address: FeedAddress
        do { address = try FeedAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
        let payload: RecordingHeader.Payload
        switch format {
        case "binary": payload = .binary
        case "json": payload = .jsonLines
        case "raw": payload = .raw
        default: throw ValidationError("--format must be binary, json or raw, got \(format.debugDescription)")
        }
        var deadline: Int64?
        if let duration {
            guard let s = parseDuration(duration) else { throw ValidationError("--duration: cannot read \(duration.debugDescription)") }
            deadline = Clock.monotonicNanos() + Int64(s * 1e9)
        }
        StopSignal.install()
        let recorder = try Recorder(listen: address, path: out, format: payload, overwrite: force)
        print("recording \(recorder.socket.boundAddress) to \(out) (Ctrl-C to stop)")
        fflush(nil)
        let report = try recorder.run(shouldStop: {
            StopSignal.requested.load(ordering: .acquiring) || deadline.map { Clock.monotonicNanos() >= $0 } ?? false
        }, onConnection: { opened in printError(opened ? "record: sender connected" : "record: sender disconnected") })
        print("recorded \(grouped(report.records)) records (\(grouped(report.bytes)) bytes, \(report.connections) connections) to \(out)")
    }
}

import Glibc
