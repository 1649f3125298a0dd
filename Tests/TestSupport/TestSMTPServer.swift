import Foundation
import Testing
import Ingest

/// A real SMTP server on a loopback port: Debian's aiosmtpd (python3-aiosmtpd, which scripts/test
/// installs) delivering every message into a maildir. For the mail path through `sendmail`
/// (msmtp) end to end. Its deadlines: it starts within 30 s or throws; `stop()` (or deinit) ends
/// it with SIGKILL. (A helper, not a suite: the suites that use it carry `.timeLimit` too.)
public final class TestSMTPServer {
    public let port: Int
    /// Its maildir: messages land in `maildir/new`.
    public let maildir: String
    private let process = Process()
    private let log: String

    /// On `port`, or on a free one.
    public init(port wanted: Int? = nil) throws {
        port = try wanted ?? Int(Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0)).boundAddress.port)
        let directory = NSTemporaryDirectory() + "akis-smtp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try CooperativePool.refuseBlocking("starting aiosmtpd")
        maildir = directory + "/box"
        log = directory + "/smtpd.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        let deadline = Clock.monotonicNanos() + 30_000_000_000
        while (try? Socket.connect(to: FeedAddress(transport: .tcp, host: "127.0.0.1", port: UInt16(port)))) == nil {
            guard process.isRunning, Clock.monotonicNanos() < deadline else {
                stop()
                throw TestSMTPFailure("aiosmtpd did not start on 127.0.0.1:\(port) (python3-aiosmtpd installed?): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            sleepBlocking(.microseconds(50_000))
        }
    }

    /// `init` for async tests: its wait for the server runs off the cooperative pool (two
    /// blocked pool threads on a two-core machine would leave it none).
    public static func start(port: Int? = nil) async throws -> TestSMTPServer {
        var server: TestSMTPServer?
        try await offThePool { server = try TestSMTPServer(port: port) }
        return server!
    }

    deinit { stop() }

    /// SIGKILL: a child of a test process may inherit a mask that blocks SIGTERM (the daemon's
    /// signal handling blocks it in the threads it starts from).
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The messages received so far, as text.
    public var messages: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: "\(maildir)/new/\($0)", encoding: .utf8) }
    }

    /// A sendmail command (msmtp) that relays to this server.
    public var sendmailCommand: [String] {
        ["/usr/bin/msmtp", "--file=/dev/null", "--host=127.0.0.1", "--port=\(port)", "--auth=off", "--tls=off", "--from=no-reply@akis.example", "-t", "-i"]
    }
}

public struct TestSMTPFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
