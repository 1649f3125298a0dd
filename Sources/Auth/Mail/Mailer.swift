import Foundation
import Ingest

/// Sends mail through one of two real transports: files in a maildir, or a sendmail-compatible
/// command. `send` is idempotent per message id for the maildir (a resent message replaces its
/// file); an MTA dedupes by Message-ID where it does.
public struct Mailer: Sendable {
    public enum Transport: Sendable, Equatable {
        /// `DIR/new/<id>.eml` (written into `DIR/tmp` first, then renamed, as maildir readers expect).
        case maildir(String)
        /// The message on the command's standard input (`sendmail -t -i`: recipients from the headers).
        case sendmail([String])
    }

    public let transport: Transport
    public let from: String

    public init(transport: Transport, from: String) {
        self.transport = transport
        self.from = from
    }

    /// Blocks (a file, or a child process): call it off the cooperative pool.
    public func send(_ message: MailMessage) throws {
        try CooperativePool.refuseBlocking("sending mail")
        switch transport {
        case .maildir(let directory): try deliver(message, into: directory)
        case .sendmail(let command): try pipe(message, to: command)
        }
    }

    private func deliver(_ message: MailMessage, into directory: String) throws {
        let fm = FileManager.default
        for sub in ["tmp", "new", "cur"] {
            try fm.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let name = "\(message.id.uuidString.lowercased()).eml"
        let temporary = "\(directory)/tmp/\(name)"
        guard fm.createFile(atPath: temporary, contents: Data(message.rfc5322.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw MailError("cannot write \(temporary)")
        }
        guard rename(temporary, "\(directory)/new/\(name)") == 0 else {
            throw MailError("cannot move the mail into \(directory)/new: \(String(cString: strerror(errno)))")
        }
    }

    /// How long a sendmail command may take before it is killed and the send fails (and is retried).
    static let sendmailTimeout: TimeInterval = 60

    private func pipe(_ message: MailMessage, to command: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        // What it says goes to a file, not a pipe: a pipe could fill and stall it, and reading a
        // pipe to its end has no deadline.
        let said = NSTemporaryDirectory() + "akis-sendmail-\(message.id.uuidString).out"
        _ = FileManager.default.createFile(atPath: said, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: said) }
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: said))
        process.standardError = process.standardOutput
        do { try process.run() } catch {
            throw MailError("cannot run \(command[0]): \((error as NSError).localizedDescription)")
        }
        try? input.fileHandleForWriting.write(contentsOf: Data(message.rfc5322.utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(Self.sendmailTimeout)
        while process.isRunning {
            if Date() > deadline {
                // SIGKILL: the child may have inherited a mask that blocks SIGTERM.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw MailError("\(command[0]) did not finish within \(Int(Self.sendmailTimeout)) s; killed")
            }
            usleep(10_000)
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = String(decoding: (FileManager.default.contents(atPath: said) ?? Data()).prefix(500), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw MailError("\(command[0]) failed (exit \(process.terminationStatus))\(text.isEmpty ? "" : ": \(text)")")
        }
    }
}

public struct MailError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
