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
    @Option(help: "BIST ITCH recordings: answer retransmission requests on this UDP address (udp://127.0.0.1:7500) from the recording's messages.")
    var rewinder: String?
    @Option(help: "BIST ITCH recordings: leave out every Nth packet with messages (gaps for the daemon to recover).") var dropEvery = 0
    @Option(help: "With --rewinder: keep answering this long after the last packet (90s, 500ms).") var linger = "2s"

    func run() throws {
        guard let speed = Replayer.Speed(speed) else { throw ValidationError("--speed must be a positive number or 'max', got \(speed.debugDescription)") }
        let address: FeedAddress
        do { address = try FeedAddress(parsing: to) } catch { throw ValidationError("--to: \(error)") }
        let reader = try RecordingReader(path: file)
        guard dropEvery >= 0 else { throw ValidationError("--drop-every must not be negative") }
        guard let lingerSeconds = parseDuration(linger) else { throw ValidationError("--linger: cannot read \(linger.debugDescription); use 2s or 500ms") }
        if (rewinder != nil || dropEvery > 0) && reader.header.payload != .bistITCH {
            throw ValidationError("--rewinder and --drop-every apply to BIST ITCH recordings (akis synth --format bist-itch); \(file) holds \(reader.header.payload)")
        }
        var server: MoldUDP64Rewinder?
        if let rewinder {
            let at: FeedAddress
            do { at = try FeedAddress(parsing: rewinder) } catch { throw ValidationError("--rewinder: \(error)") }
            guard at.transport == .udp else { throw ValidationError("--rewinder: a rewinder answers over UDP: udp://HOST:PORT") }
            var archive = MoldUDP64Archive()
            try RecordingReader(path: file).forEachRecord { _, payload in
                if let error = archive.add(packet: payload) { throw CLIError("\(file): cannot serve it as a rewinder: \(error)") }
            }
            server = try MoldUDP64Rewinder(archive: archive, address: at)
            printError("rewinder: answering retransmission requests on \(server!.address) from \(grouped(UInt64(archive.messageCount))) messages")
        }
        defer { server?.close() }
        var dataPackets = 0
        var dropped = 0
        let skip: (UnsafeRawBufferPointer) -> Bool = { payload in
            guard dropEvery > 0, case .success(let p) = MoldUDP64Packet.parse(payload), p.messageCount > 0 else { return false }
            dataPackets += 1
            guard dataPackets % dropEvery == 0 else { return false }
            dropped += 1
            return true
        }
        let socket = try Socket.connect(to: address, multicastInterface: multicastInterface)
        printError("replaying \(file) (\(reader.header.source)) to \(address) at speed \(speed)")
        var lastSent = Replayer.Report(records: 0, bytes: 0, elapsedNanos: 0)
        do {
            let report = try Replayer.replay(reader, to: socket, speed: speed, skip: skip, progress: { p in
                printError(String(format: "replay: %@ records, %.1f MB, %3.0f%% of file, %.1f s",
                                  grouped(p.records), Double(p.bytes) / 1e6, p.fraction * 100, Double(p.elapsedNanos) / 1e9))
            }, sent: { lastSent = $0 })
            socket.shutdownWrite()
            print(String(format: "replayed %@ records (%@ bytes) to %@ in %.2f s: %@ records/s",
                         grouped(report.records), grouped(report.bytes), address.description,
                         Double(report.elapsedNanos) / 1e9, grouped(UInt64(report.recordsPerSecond))))
            if dropEvery > 0 { print("left out \(grouped(UInt64(dropped))) packets with messages (every \(dropEvery)th)") }
            if let server {
                Clock.sleep(untilMonotonic: Clock.monotonicNanos() + Int64(lingerSeconds * 1e9))
                print("rewinder: \(grouped(UInt64(server.requests.load(ordering: .relaxed)))) requests answered with "
                      + "\(grouped(UInt64(server.answers.load(ordering: .relaxed)))) packets")
            }
        } catch {
            printError("replay stopped after \(grouped(lastSent.records)) records (\(grouped(lastSent.bytes)) bytes)")
            throw CLIError("\(error)")
        }
    }
}

import Foundation
