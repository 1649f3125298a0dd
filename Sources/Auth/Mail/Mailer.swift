import Foundation

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

    public func send(_ message: MailMessage) throws {
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

    private func pipe(_ message: MailMessage, to command: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch {
            throw MailError("cannot run \(command[0]): \((error as NSError).localizedDescription)")
        }
        try input.fileHandleForWriting.write(contentsOf: Data(message.rfc5322.utf8))
        try input.fileHandleForWriting.close()
        let said = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = String(decoding: said.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw MailError("\(command[0]) failed (exit \(process.terminationStatus))\(text.isEmpty ? "" : ": \(text)")")
        }
    }
}

public struct MailError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
