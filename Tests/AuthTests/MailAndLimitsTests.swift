@testable import Auth
import AkisConfig
import Foundation
import TestSupport
import Testing

@Suite(.offThePool) struct MailAndLimitsTests {
    @Test func messagesAreRFC5322WithNoHeaderInjection() {
        let id = UUID()
        let m = MailMessage(from: "Akis <no-reply@akis.example>", to: "ayşe@example.com\r\nBcc: victim@example.com", subject: "Doğrulama\nBcc: x@y.z",
                            body: "Merhaba Ayşe,\nlink: http://h/x?token=abc=\n" + String(repeating: "ğ", count: 60), id: id,
                            date: Date(timeIntervalSince1970: 0))
        let text = m.rfc5322
        let headers = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(headers.count == 8 && !headers.contains { $0.hasPrefix("Bcc") }, "\(headers)")
        #expect(headers.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000") && headers.contains("Message-ID: <\(id.uuidString.lowercased())@akis.example>"))
        #expect(headers.contains { $0.hasPrefix("Subject: =?utf-8?B?") })
        let body = text.components(separatedBy: "\r\n\r\n")[1]
        #expect(body.contains("Merhaba Ay=C5=9Fe,") && body.contains("token=3Dabc=3D"))
        #expect(body.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
    }

    @Test func maildirDelivery() throws {
        let dir = NSTemporaryDirectory() + "akis-maildir-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = UUID()
        try Mailer(transport: .maildir(dir), from: "a@b.co").send(MailMessage(from: "a@b.co", to: "c@d.co", subject: "s", body: "b", id: id))
        let text = try String(contentsOfFile: "\(dir)/new/\(id.uuidString.lowercased()).eml", encoding: .utf8)
        let leftover = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/tmp")
        #expect(text.contains("To: c@d.co\r\n") && leftover.isEmpty)
    }

    @Test func sendmailFailureSaysWhat() throws {
        let mailer = Mailer(transport: .sendmail(["/bin/sh", "-c", "cat >/dev/null; echo 'relay refused' >&2; exit 75"]), from: "a@b.co")
        #expect(throws: MailError.self) { try mailer.send(MailMessage(from: "a@b.co", to: "c@d.co", subject: "s", body: "b", id: UUID())) }
        do { try mailer.send(MailMessage(from: "a@b.co", to: "c@d.co", subject: "s", body: "b", id: UUID())) } catch {
            #expect("\(error)" == "/bin/sh failed (exit 75): relay refused")
        }
        #expect(throws: MailError.self) {
            try Mailer(transport: .sendmail(["/nonexistent/sendmail"]), from: "a@b.co").send(MailMessage(from: "a@b.co", to: "c@d.co", subject: "s", body: "b", id: UUID()))
        }
    }

    @Test func rateLimiterBucketsRefill() {
        let limiter = RateLimiter(perMinute: 3)
        #expect((0..<3).map { _ in limiter.take("ip", now: 0) } == [nil, nil, nil])
        #expect(limiter.take("ip", now: 0) == 20, "one request every 20 s")
        #expect(limiter.take("other", now: 0) == nil)
        #expect(limiter.take("ip", now: 20_000_000_000) == nil)
        #expect(limiter.take("ip", now: 21_000_000_000) == 19)
    }
}

@Suite(.timeLimit(.minutes(1))) struct PasswordHasherTests {
    @Test func aHashVerifiesAndNoUserNeverDoes() async throws {
        let hasher = PasswordHasher(cost: 4, threads: 1)
        let hash = try await hasher.hash("Güçlü-Parola-42")
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(try await hasher.verify("Güçlü-Parola-42", hash: hash))
        #expect(try await !hasher.verify("Yanlış-Parola-1", hash: hash))
        #expect(try await !hasher.verify("Güçlü-Parola-42", hash: nil))
        #expect(try await !hasher.verify("", hash: nil))
        try await hasher.shutdown()
    }

    /// A share of 1% makes each hash's turn a hundred times its CPU time: of 30 hashes asked at
    /// once, those that would wait past the limit are refused at once as busy, the rest verify.
    @Test func aCappedShareRestsBetweenHashesAndRefusesWhatWouldWaitTooLong() async throws {
        let hasher = PasswordHasher(cost: 4, threads: 1, cpuShare: 0.01, maximumWaitNanos: 1_000_000_000)
        let hash = try await hasher.hash("Güçlü-Parola-42")
        let started = ContinuousClock.now
        let outcomes = await withTaskGroup(of: Result<Bool, any Error>.self) { group in
            for _ in 0..<30 {
                group.addTask {
                    do { return .success(try await hasher.verify("Güçlü-Parola-42", hash: hash)) } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let took = ContinuousClock.now - started
        let verified = outcomes.filter { (try? $0.get()) == true }.count
        let busy = outcomes.compactMap { outcome -> AuthFailure? in
            if case .failure(let failure as AuthFailure) = outcome { return failure }
            return nil
        }
        #expect(verified + busy.count == 30, "\(outcomes)")
        #expect(verified >= 1 && busy.count >= 1, "verified \(verified), busy \(busy.count)")
        for failure in busy {
            #expect(failure.status == 503 && failure.code == "busy" && (failure.retryAfter ?? 0) >= 2, "\(failure)")
            #expect(failure.fields["retryAfter"] == failure.retryAfter.map { "\($0)" })
        }
        // Each admitted hash waited out the rest of the one before it: 99 times its CPU time,
        // at least 20 ms for a cost-4 hash on any machine (without the rest: about 1 ms each).
        #expect(took >= .milliseconds(20 * verified), "\(verified) hashes in \(took)")
        try await hasher.shutdown()
    }

    @Test func theHashingLimitsAreConfigured() throws {
        let parsed = try AkisConfiguration.parse("[auth]\nbcrypt_cpu_share = 0.25\nbcrypt_max_wait = \"30s\"\n", modules: [AuthSettings.self])
            .settings(AuthSettings.self)
        #expect(parsed.bcryptCPUShare == 0.25 && parsed.bcryptMaximumWaitNanos == 30_000_000_000)
        #expect(parsed.summary.contains("at 25% of a core, waits up to 30 s"))
        let defaults = try AkisConfiguration.parse("[auth]\n", modules: [AuthSettings.self]).settings(AuthSettings.self)
        #expect(defaults.bcryptCPUShare == 1 && defaults.bcryptMaximumWaitNanos == 10_000_000_000)
        #expect { try AkisConfiguration.parse("[auth]\nbcrypt_max_wait = \"0s\"\n", modules: [AuthSettings.self]) } throws: {
            "\($0)".contains("auth.bcrypt_max_wait (line 2)")
        }
    }

    @Test func theRestIsTheShareOfTheTurnNotTaken() {
        #expect(PasswordHasher.rest(afterHashTaking: 10_000_000, share: 1) == 0)
        #expect(PasswordHasher.rest(afterHashTaking: 10_000_000, share: 0.25) == 30_000_000)
        #expect(PasswordHasher.rest(afterHashTaking: 10_000_000, share: 0.01) == 990_000_000)
    }
}
