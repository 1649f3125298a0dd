import Foundation
import Ingest
import Testing

/// The `akis` executable built next to this test bundle.
let akisBinary: String = {
    if let path = ProcessInfo.processInfo.environment["AKIS_BINARY"] { return path }
    let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("akis").path
    if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/akis").path
}()

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A running `akis` process with its output captured to files.
final class AkisProcess {
    let process = Process()
    let outPath: String
    let errPath: String

    init(_ arguments: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        outPath = dir.appendingPathComponent("stdout").path
        errPath = dir.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: akisBinary)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
    }

    func wait(timeoutSeconds: Double = 60) -> RunResult {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        process.waitUntilExit()
        return RunResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

func akis(_ arguments: String...) throws -> RunResult { try AkisProcess(arguments).wait() }

func scratchFile(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("akis-cli-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite(.serialized) struct AkisCLITests {
    @Test func badOptionsGiveSpecificMessages() throws {
        let synth = try akis("synth", "--symbols", "99", "--out", scratchFile("x.akrec"))
        #expect(synth.status != 0)
        #expect(synth.stderr.contains("--symbols must be between 1 and 30"))

        let speed = try akis("replay", "nothing.akrec", "--to", "tcp://127.0.0.1:1", "--speed", "fast")
        #expect(speed.status != 0)
        #expect(speed.stderr.contains("--speed must be a positive number or 'max'"))

        let address = try akis("serve", "--listen", "127.0.0.1:9000")
        #expect(address.status != 0)
        #expect(address.stderr.contains("expected tcp://HOST:PORT or udp://HOST:PORT"))

        let symbols = try akis("serve", "--symbols", "AKBNK,bad symbol")
        #expect(symbols.status != 0)
        #expect(symbols.stderr.contains("invalid symbol"))

        let missing = try akis("replay", "/nonexistent/feed.akrec", "--to", "tcp://127.0.0.1:1")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/feed.akrec: open failed: No such file"))
    }

    @Test func synthRefusesToOverwriteWithoutForce() throws {
        let path = scratchFile("s.akrec")
        #expect(try akis("synth", "--symbols", "2", "--duration", "1", "--out", path).status == 0)
        let again = try akis("synth", "--symbols", "2", "--duration", "1", "--out", path)
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists (pass --force"))
        #expect(try akis("synth", "--symbols", "2", "--duration", "1", "--out", path, "--force").status == 0)
    }

    @Test func replayOfACorruptRecordingSendsEverythingBeforeTheDamage() throws {
        let path = scratchFile("c.akrec")
        #expect(try akis("synth", "--symbols", "5", "--rate", "50000", "--duration", "10", "--out", path).status == 0)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count * 3 / 4] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: path))
        let out = scratchFile("captured.akrec")
        let recorder = try AkisProcess(["record", "--listen", "tcp://127.0.0.1:0", "--out", out, "--duration", "30s"])
        let port = try waitForBoundPort(recorder)
        let replay = try akis("replay", path, "--to", "tcp://127.0.0.1:\(port)", "--speed", "max")
        #expect(replay.status != 0)
        #expect(replay.stderr.contains("corrupt data at byte offset"))
        #expect(replay.stderr.contains("replay stopped after"))
        recorder.process.interrupt()
        let recorded = recorder.wait()
        #expect(recorded.status == 0)
        var captured = 0
        try RecordingReader(path: out).forEachRecord { _, payload in captured += payload.count }
        #expect(captured > 0, "records before the damaged block were sent")
        #expect(captured % BinaryFrameCodec.frameSizeV1 == 0)
    }

    /// The README's main job, end to end: serve, replay the bundled sample, stop with SIGTERM.
    @Test func serveIngestsTheBundledSampleAndStopsCleanly() throws {
        let ready = scratchFile("ready")
        let serve = try AkisProcess(["serve", "--listen", "tcp://127.0.0.1:0", "--ready-file", ready, "--stats-interval", "0.5"])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline { usleep(20_000) }
        let address = try String(contentsOfFile: ready, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let sample = packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path
        let replay = try akis("replay", sample, "--to", address, "--speed", "max")
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("replayed 59,705 records"))
        var log = ""
        while !log.contains("pipeline 59,705 ticks") && Date() < deadline {
            usleep(100_000)
            log = (try? String(contentsOfFile: serve.errPath, encoding: .utf8)) ?? ""
        }
        serve.process.terminate()  // SIGTERM
        let result = serve.wait()
        #expect(result.status == 0, "\(result.stderr)")
        let stopped = result.stderr.split(separator: "\n").first { $0.contains("stopped:") } ?? ""
        #expect(stopped.contains("decoded 59,705 ticks"))
        #expect(stopped.contains("rejected 0"))
        #expect(stopped.contains("pipeline 59,705 ticks"))
        #expect(stopped.contains("in 30 symbols"))
    }
}

/// Reads the "recording tcp://…:PORT to …" line that `akis record` prints.
func waitForBoundPort(_ p: AkisProcess) throws -> Int {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        let text = (try? String(contentsOfFile: p.outPath, encoding: .utf8)) ?? ""
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("recording ") }),
           let address = line.split(separator: " ").dropFirst().first,
           let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
            return port
        }
        usleep(20_000)
    }
    throw CancellationError()
}
