@testable import Auth
import Foundation
import Ingest
import Store
import TestSupport
import Testing

/// The verification mail through `sendmail`, end to end: Debian's msmtp handing it to a real SMTP
/// server (aiosmtpd) the test runs; and a mail system that is down. Tests of `AuthModuleTests`
/// (serialized with its other daemons, under its `.timeLimit`).
extension AuthModuleTests {
    static func tomlArray(_ command: [String]) -> String { "[" + command.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    /// The verification link in a message, decoded from quoted-printable.
    static func verificationLink(in message: String) -> String? {
        let decoded = message.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "").replacingOccurrences(of: "=3D", with: "=")
        return decoded.components(separatedBy: .newlines).first { $0.hasPrefix("http://") }
    }

    @Test func theVerificationMailArrivesOverSMTPAndItsLinkVerifies() async throws {
        try await withScratchDatabase { url in
            let smtp = try await TestSMTPServer.start()
            let d = try await AuthDaemon(url: url, auth: ["mail": "\"sendmail\"", "sendmail_command": Self.tomlArray(smtp.sendmailCommand),
                                                          "mail_from": "\"Akis <no-reply@akis.example>\""])
            let r = try await d.post("/api/auth/register", ["email": "zeynep@example.com", "username": "zeynep", "password": "Güçlü-Parola-42",
                                                            "firstName": "Zeynep Gül"])
            #expect(r.status == 201, "\(r)")
            try await waitUntil("the mail at the SMTP server", within: .seconds(30), every: .milliseconds(50)) { !smtp.messages.isEmpty }
            let message = try #require(smtp.messages.first)
            #expect(message.contains("To: zeynep@example.com") && message.contains("Subject: Verify your email address for Akis"), "\(message)")
            let link = try #require(Self.verificationLink(in: message))
            #expect(try await d.send("GET", String(link.dropFirst("http://\(d.http)".count))).status == 200)
            #expect(try await d.post("/api/auth/login", ["login": "zeynep", "password": "Güçlü-Parola-42"]).status == 200)
            #expect(smtp.messages.count == 1)
            try await d.stop()
        }
    }

    @Test func aMailSystemThatIsDownNeverFailsARegistrationAndTheMailGoesOnceItIsBack() async throws {
        try await withScratchDatabase { url in
            // Nothing listens on the port yet: msmtp fails, the consumer retries, then a dead letter.
            let port = Int(try Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0)).boundAddress.port)
            let down = ["/usr/bin/msmtp", "--file=/dev/null", "--host=127.0.0.1", "--port=\(port)", "--auth=off", "--tls=off", "--from=no-reply@akis.example", "-t", "-i"]
            let d = try await AuthDaemon(url: url, auth: ["mail": "\"sendmail\"", "sendmail_command": Self.tomlArray(down)])
            let started = ContinuousClock.now
            let r = try await d.post("/api/auth/register", ["email": "ali@example.com", "username": "ali", "password": "Güçlü-Parola-42"])
            #expect(r.status == 201 && ContinuousClock.now - started < .seconds(10), "\(r)")
            // Polled on a thread of its own: libpq blocks, and the cooperative pool has two threads.
            try await eventually("the dead letter", within: .seconds(60)) {
                try await offThePool { try LibpqConnection(conninfo: url).execute("SELECT count(*) FROM event_dead_letters WHERE consumer = 'auth-mail'").rows } == [["1"]]
            }
            let error = try d.db.execute("SELECT error FROM event_dead_letters").rows[0][0] ?? ""
            #expect(error.contains("/usr/bin/msmtp failed"), "\(error)")
            #expect(try d.db.execute("SELECT count(*) FROM auth_mail_outbox").rows == [["1"]], "the mail waits")
            // The mail system is back; the operator retries the dead letter (akis events dlq retry).
            let smtp = try await TestSMTPServer.start(port: port)
            _ = try d.db.execute("UPDATE event_dead_letters SET retry_requested = true; SELECT pg_notify('akis_events', 'dlq')")
            try await waitUntil("the mail at the SMTP server", within: .seconds(60), every: .milliseconds(50)) { !smtp.messages.isEmpty }
            #expect(smtp.messages.count == 1 && Self.verificationLink(in: smtp.messages[0]) != nil)
            try await eventually("the outbox to empty", within: .seconds(30)) {
                try await offThePool { try LibpqConnection(conninfo: url).execute("SELECT count(*) FROM auth_mail_outbox").rows } == [["0"]]
            }
            try await d.stop()
        }
    }
}
