@testable import Auth
import Foundation
import TestSupport
import Testing

/// The reference's three auth sequences (register, login, refresh), every branch, over real HTTP
/// against a real daemon and PostgreSQL.
@Suite(.offThePool, .serialized, .timeLimit(.minutes(5))) struct AuthModuleTests {
    @Test func registerVerifyLoginRefreshLogout() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url)
            // Registration: 201, the user stored with Turkish names in UTF-8, an event, a mail.
            let r = try await d.post("/api/auth/register", ["email": "Ayse.Yilmaz@Example.com", "username": "ayşe_yılmaz", "password": "Güçlü-Parola-42",
                                                            "firstName": "Ayşe Işıl", "lastName": "Çağlar-Öztürk", "tckn": "10000000146"])
            #expect(r.status == 201, "\(r)")
            let userId = try #require(r.json["userId"] as? String)
            #expect(try d.db.execute("SELECT first_name, last_name, tckn, level, email_verified_at IS NULL, password_hash LIKE '$2b$04$%' FROM auth_users").rows
                    == [["Ayşe Işıl", "Çağlar-Öztürk", "10000000146", "basic", "t", "t"]])
            #expect(try d.db.execute("SELECT encode(convert_to(first_name, 'UTF8'), 'hex') FROM auth_users").rows == [["4179c59f652049c59fc4b16c"]])
            let registered = try d.db.execute("SELECT convert_from(envelope, 'UTF8')::jsonb -> 'data' FROM event_store WHERE event_type = 'UserRegistered'").rows
            #expect(registered.count == 1 && registered[0][0]!.contains("\"userId\": \"\(userId)\"") && registered[0][0]!.contains("\"registrationSource\": \"web\""))
            #expect(!registered[0][0]!.contains("token"), "the verification token never goes into an event")

            // Unverified: the right password is refused with a clear message.
            let early = try await d.post("/api/auth/login", ["login": "ayse.yilmaz@example.com", "password": "Güçlü-Parola-42"])
            #expect(early.status == 403 && early.json["error"] as? String == "email_not_verified", "\(early)")

            // The mail's link verifies the account, once.
            let link = try await d.mailLink(to: "Ayse.Yilmaz@Example.com")
            #expect(link.hasPrefix("http://\(d.http)/api/auth/verify-email?token="))
            let path = String(link.dropFirst("http://\(d.http)".count))
            #expect(try await d.send("GET", path).status == 200)
            let again = try await d.send("GET", path)
            #expect(again.status == 400 && again.json["error"] as? String == "verification_used", "\(again)")
            #expect(try d.db.execute("SELECT count(*) FROM auth_mail_outbox").rows == [["0"]], "a sent mail leaves the outbox")
            #expect(try d.db.execute("SELECT count(*) FROM event_store WHERE event_type = 'UserEmailVerified'").rows == [["1"]])

            // Login by username, compared with Turkish folding (İ/I/ı/i).
            let login = try await d.post("/api/auth/login", ["login": "AYŞE_YILMAZ", "password": "Güçlü-Parola-42"])
            #expect(login.status == 200, "\(login)")
            let access = try #require(login.json["accessToken"] as? String)
            let refresh = try #require(login.json["refreshToken"] as? String)
            #expect(login.json["tokenType"] as? String == "Bearer" && (login.json["expiresIn"] as? Int).map { (895...900).contains($0) } == true)
            #expect(try d.db.execute("SELECT last_login IS NOT NULL, failed_logins FROM auth_users").rows == [["t", "0"]])
            #expect(try d.db.execute("SELECT count(*) FROM auth_refresh_tokens WHERE token_hash = sha256(convert_to('\(refresh)', 'UTF8'))").rows == [["1"]],
                    "refresh tokens are stored as their SHA-256 only")
            #expect(try d.db.execute("SELECT count(*) FROM auth_refresh_tokens WHERE encode(token_hash, 'escape') LIKE '%\(refresh.prefix(10))%'").rows == [["0"]])
            let me = try await d.send("GET", "/api/auth/me", headers: [("Authorization", "Bearer \(access)")])
            #expect(me.status == 200 && me.json["userId"] as? String == userId && me.json["subscriptionLevel"] as? String == "basic", "\(me)")

            // Refresh rotates; the rotated token presented again revokes the whole family.
            let rotated = try await d.post("/api/auth/refresh", ["refreshToken": refresh])
            #expect(rotated.status == 200, "\(rotated)")
            let second = try #require(rotated.json["refreshToken"] as? String)
            #expect(second != refresh)
            let reuse = try await d.post("/api/auth/refresh", ["refreshToken": refresh])
            #expect(reuse.status == 401 && reuse.json["error"] as? String == "refresh_reused", "\(reuse)")
            let afterReuse = try await d.post("/api/auth/refresh", ["refreshToken": second])
            #expect(afterReuse.status == 401 && afterReuse.json["error"] as? String == "refresh_revoked", "\(afterReuse)")

            // Logout revokes its login; another login's tokens are untouched.
            let a = try await d.post("/api/auth/login", ["login": "ayse.yilmaz@example.com", "password": "Güçlü-Parola-42"])
            let b = try await d.post("/api/auth/login", ["login": "ayse.yilmaz@example.com", "password": "Güçlü-Parola-42"])
            #expect(try await d.post("/api/auth/logout", ["refreshToken": a.json["refreshToken"] as! String]).status == 204)
            #expect(try await d.post("/api/auth/refresh", ["refreshToken": a.json["refreshToken"] as! String]).json["error"] as? String == "refresh_revoked")
            #expect(try await d.post("/api/auth/refresh", ["refreshToken": b.json["refreshToken"] as! String]).status == 200)
            #expect(try d.db.execute("SELECT count(*) FROM event_store WHERE event_type = 'UserLoggedIn'").rows == [["3"]])
            let metrics = try await httpGet(d.http, "/metrics").body
            for line in ["akis_auth_registrations_total 1", "akis_auth_email_verifications_total 1", "akis_auth_logins_total 3",
                         "akis_auth_logins_refused_total 1", "akis_auth_refreshes_total 2", "akis_auth_refresh_reuse_total 1"] {
                #expect(metrics.contains(line + "\n"), "\(line)")
            }
            try await d.stop()
        }
    }

    @Test func anExpiredLinkIsRefusedAndANewOneCanBeAskedFor() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url)
            #expect(try await d.post("/api/auth/register", ["email": "elif@example.com", "username": "elif", "password": "Güçlü-Parola-42"]).status == 201)
            let first = try await d.mailLink(to: "elif@example.com")
            _ = try d.db.execute("UPDATE auth_email_verifications SET expires_at = now() - INTERVAL '1 second'")
            let expired = try await d.send("GET", String(first.dropFirst("http://\(d.http)".count)))
            #expect(expired.status == 400 && expired.json["error"] as? String == "verification_expired", "\(expired)")
            // Unknown and known addresses get the same answer; only the known one gets a mail.
            let unknown = try await d.post("/api/auth/resend-verification", ["email": "nobody@example.com"])
            let known = try await d.post("/api/auth/resend-verification", ["email": "ELIF@example.com"])
            #expect(unknown.status == 202 && known.status == 202 && NSDictionary(dictionary: unknown.json) == NSDictionary(dictionary: known.json))
            var second: String?
            try await waitUntil("the second mail", within: .seconds(30), every: .milliseconds(20)) {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: d.maildir + "/new")) ?? []
                second = names.count == 2 ? try names.map { try String(contentsOfFile: "\(d.maildir)/new/\($0)", encoding: .utf8) }
                    .map { $0.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=3D", with: "=") }
                    .flatMap { $0.split(separator: "\r\n") }.filter { $0.hasPrefix("http://") }.map(String.init).first { $0 != first } : nil
                return second != nil
            }
            #expect(try await d.send("GET", String(second!.dropFirst("http://\(d.http)".count))).status == 200)
            #expect(try await d.post("/api/auth/login", ["login": "elif", "password": "Güçlü-Parola-42"]).status == 200)
            // Verified now: a resend sends nothing more.
            #expect(try await d.post("/api/auth/resend-verification", ["email": "elif@example.com"]).status == 202)
            #expect(try d.db.execute("SELECT count(*) FROM auth_mail_outbox").rows == [["0"]])
            #expect(try d.db.execute("SELECT count(*) FROM event_store WHERE event_type = 'UserProfileUpdated'").rows == [["1"]])
            try await d.stop()
        }
    }

    @Test func registrationConflictsAndRules() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url)
            #expect(try await d.post("/api/auth/register", ["email": "isil@example.com", "username": "ISIL", "password": "Güçlü-Parola-42"]).status == 201)
            let email = try await d.post("/api/auth/register", ["email": "ISIL@EXAMPLE.COM", "username": "other", "password": "Güçlü-Parola-42"])
            #expect(email.status == 409 && email.json["error"] as? String == "email_taken", "\(email)")
            // "ısıl" is "ISIL" to a Turkish reader and "isil" to an English one: taken either way.
            for name in ["ısıl", "isil", "İsil"] {
                let username = try await d.post("/api/auth/register", ["email": "\(UUID().uuidString.prefix(8))@example.com", "username": name, "password": "Güçlü-Parola-42"])
                #expect(username.status == 409 && username.json["error"] as? String == "username_taken", "\(name): \(username)")
            }
            let bad = try await d.post("/api/auth/register", ["email": "x", "username": "ab", "password": "password", "tckn": "07291716092"])
            #expect(bad.status == 400 && bad.json["error"] as? String == "validation_failed")
            let rules = Set(((bad.json["rules"] as? [[String: Any]]) ?? []).map { "\($0["field"]!).\($0["rule"]!)" })
            #expect(rules == ["email.format", "username.length", "password.length", "password.uppercase", "password.digit", "password.symbol", "tckn.format"], "\(rules)")
            let checksum = try await d.post("/api/auth/register", ["email": "t@example.com", "username": "tckn", "password": "Güçlü-Parola-42", "tckn": "17291716050"])
            #expect(((checksum.json["rules"] as? [[String: Any]]) ?? []).map { "\($0["rule"]!)" } == ["checksum"], "\(checksum)")
            #expect(try d.db.execute("SELECT count(*) FROM auth_users").rows == [["1"]])
            try await d.stop()
        }
    }

    @Test func loginBranches() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url, auth: ["max_failed_logins": "3", "lockout": "\"2s\""])
            try await d.verifiedUser("mehmet", email: "mehmet@example.com")
            // Unknown user and wrong password: the same 401 body.
            let unknown = try await d.post("/api/auth/login", ["login": "nobody", "password": "Güçlü-Parola-42"])
            let wrong = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Yanlış-Parola-1"])
            #expect(unknown.status == 401 && wrong.status == 401)
            #expect(NSDictionary(dictionary: unknown.json) == NSDictionary(dictionary: wrong.json), "\(unknown.json) \(wrong.json)")
            #expect(try d.db.execute("SELECT failed_logins FROM auth_users").rows == [["1"]])
            _ = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Yanlış-Parola-1"])
            let locked = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Yanlış-Parola-1"])
            #expect(locked.status == 423 && locked.json["error"] as? String == "account_locked" && locked.json["lockedUntil"] is String, "\(locked)")
            #expect(locked.headers["retry-after"] != nil)
            // Locked: even the right password waits for the end of the lock.
            let during = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Güçlü-Parola-42"])
            #expect(during.status == 423, "\(during)")
            try await Task.sleep(for: .milliseconds(2_100))
            let after = try await d.post("/api/auth/login", ["login": "mehmet@example.com", "password": "Güçlü-Parola-42"])
            #expect(after.status == 200, "\(after)")
            #expect(try d.db.execute("SELECT failed_logins, locked_until IS NULL FROM auth_users").rows == [["0", "t"]])
            let failures = try d.db.execute("""
                SELECT convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> 'reason' FROM event_store WHERE event_type = 'UserLoginFailed' ORDER BY seq
                """).rows.map { $0[0]! }
            #expect(failures == ["unknown_user", "wrong_password", "wrong_password", "wrong_password_locked", "locked"], "\(failures)")
            #expect(try d.db.execute("SELECT DISTINCT topic FROM event_store WHERE event_type IN ('UserLoginFailed', 'UserLoggedIn')").rows == [["audit-events"]])

            // Disabled: login and refresh refused.
            let refresh = try #require(after.json["refreshToken"] as? String)
            _ = try d.db.execute("UPDATE auth_users SET disabled_at = now()")
            let disabled = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Güçlü-Parola-42"])
            #expect(disabled.status == 401 && disabled.json["error"] as? String == "account_disabled", "\(disabled)")
            let refused = try await d.post("/api/auth/refresh", ["refreshToken": refresh])
            #expect(refused.status == 401 && refused.json["error"] as? String == "account_disabled", "\(refused)")
            _ = try d.db.execute("UPDATE auth_users SET disabled_at = NULL")

            // An expired refresh token; an unknown one.
            let fresh = try await d.post("/api/auth/login", ["login": "mehmet", "password": "Güçlü-Parola-42"])
            _ = try d.db.execute("UPDATE auth_refresh_tokens SET expires_at = now() - INTERVAL '1 second' WHERE revoked_at IS NULL AND used_at IS NULL")
            let expired = try await d.post("/api/auth/refresh", ["refreshToken": fresh.json["refreshToken"] as! String])
            #expect(expired.status == 401 && expired.json["error"] as? String == "refresh_expired", "\(expired)")
            let unknownRefresh = try await d.post("/api/auth/refresh", ["refreshToken": OpaqueToken().text])
            #expect(unknownRefresh.status == 401 && unknownRefresh.json["error"] as? String == "refresh_invalid")
            try await d.stop()
        }
    }

    @Test func hostileInput() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url)
            let sql = "x'); DROP TABLE auth_users; --"
            let r = try await d.post("/api/auth/register", ["email": "\(sql)@example.com", "username": sql, "password": sql, "firstName": sql])
            #expect(r.status == 400)
            #expect(try await d.post("/api/auth/login", ["login": sql, "password": sql]).status == 401)
            #expect(try await d.post("/api/auth/refresh", ["refreshToken": sql]).status == 401)
            #expect(try await d.post("/api/auth/verify-email", ["token": sql]).status == 400)
            // 1 MB strings: the body limit answers before any parsing.
            let huge = String(repeating: "ş", count: 500_000)
            let big = try await d.post("/api/auth/register", ["email": huge, "username": huge, "password": huge])
            #expect(big.status == 413 && big.json["error"] as? String == "body_too_large", "\(big.status)")
            // Just under the limit, a long password is refused, not hashed for a long time.
            let long = try await d.post("/api/auth/login", ["login": "someone", "password": String(repeating: "a", count: 60_000)])
            #expect(long.status == 401)
            let json = [("Content-Type", "application/json")]
            let invalidUTF8 = try await d.send("POST", "/api/auth/login", headers: json, body: Array(#"{"login":"a","password":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8))
            #expect(invalidUTF8.status == 400 && invalidUTF8.json["error"] as? String == "bad_request", "\(invalidUTF8)")
            let badJSON = try await d.send("POST", "/api/auth/login", headers: json, body: Array(#"{"login": "a", "password": }"#.utf8))
            #expect(badJSON.status == 400 && (badJSON.json["message"] as? String)?.contains("not valid JSON") == true, "\(badJSON)")
            let wrongType = try await d.send("POST", "/api/auth/register", headers: json, body: Array(#"{"email": 5, "username": "a", "password": "b"}"#.utf8))
            #expect(wrongType.status == 400 && (wrongType.json["message"] as? String)?.contains("\"email\"") == true, "\(wrongType)")
            let missing = try await d.send("POST", "/api/auth/register", headers: json, body: Array(#"{"email": "a@b.co"}"#.utf8))
            #expect(missing.status == 400 && (missing.json["message"] as? String)?.contains("missing") == true, "\(missing)")
            let form = try await d.send("POST", "/api/auth/login", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("login=a&password=b".utf8))
            #expect(form.status == 415, "\(form)")
            #expect(try await d.send("POST", "/api/auth/login", body: Array("{}".utf8)).status == 415)
            #expect(try await d.post("/api/auth/login", ["login": "a"]).status == 400)
            // Tokens on /me: none, not Bearer, alg none, garbage.
            #expect(try await d.send("GET", "/api/auth/me").status == 401)
            #expect(try await d.send("GET", "/api/auth/me", headers: [("Authorization", "Basic YTpi")]).status == 401)
            let none = base64URL(#"{"alg":"none","typ":"JWT"}"#) + "." + base64URL(#"{"sub":"00000000-0000-0000-0000-000000000000","iss":"akis","aud":"akis","exp":9999999999,"nbf":0,"iat":0,"jti":"x","username":"x","roles":["admin"],"level":"pro"}"#) + "."
            let noneReply = try await d.send("GET", "/api/auth/me", headers: [("Authorization", "Bearer \(none)")])
            #expect(noneReply.status == 401 && (noneReply.json["message"] as? String)?.contains("algorithm") == true, "\(noneReply)")
            #expect(try await d.send("GET", "/api/auth/me", headers: [("Authorization", "Bearer \(huge.prefix(1000))")]).status == 401)
            #expect(try d.db.execute("SELECT count(*) FROM auth_users").rows == [["0"]])
            // The server still answers normally.
            #expect(try await d.post("/api/auth/register", ["email": "ok@example.com", "username": "ok_user", "password": "Güçlü-Parola-42"]).status == 201)
            try await d.stop()
        }
    }

    /// Hashing at 1% of a core: of 30 logins at once, those that would wait past a second for
    /// BCrypt are told at once to come back (503 busy, Retry-After), the others answered.
    @Test func aLoginStormBeyondTheHashingLimitsIsToldToComeBack() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url, auth: ["bcrypt_cpu_share": "0.01", "bcrypt_max_wait": "\"1s\""])
            typealias Reply = (status: Int, retryAfter: String?, error: String?, retryAfterField: String?)
            let http = d.http
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for i in 0..<30 {
                    group.addTask {
                        let body = Array(#"{"login":"nobody\#(i)","password":"Yanlış-Parola-1"}"#.utf8)
                        let r = try await httpRequest(http, "POST", "/api/auth/login", headers: [("Content-Type", "application/json")], body: body)
                        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any]
                        return (r.status, r.headers["retry-after"], json?["error"] as? String, json?["retryAfter"] as? String)
                    }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            let busy = replies.filter { $0.status == 503 }
            let answered = replies.filter { $0.status == 401 }
            #expect(answered.count + busy.count == 30, "\(replies.map(\.status))")
            #expect(!busy.isEmpty && busy.count < 30, "\(replies.map(\.status))")
            for reply in busy {
                #expect(reply.error == "busy" && Int(reply.retryAfter ?? "").map { $0 >= 2 } == true && reply.retryAfterField == reply.retryAfter, "\(reply)")
            }
            try await d.stop()
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        try await withScratchDatabase { url in
            let d = try await AuthDaemon(url: url, auth: ["requests_per_minute_per_account": "3"])
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append(try await d.post("/api/auth/login", ["login": "target", "password": "Yanlış-Parola-1"]).status) }
            #expect(statuses == [401, 401, 401, 429], "\(statuses)")
            let limited = try await d.post("/api/auth/login", ["login": "TARGET", "password": "Yanlış-Parola-1"])
            #expect(limited.status == 429 && Int(limited.headers["retry-after"] ?? "").map { (1...20).contains($0) } == true, "\(limited)")
            // Another account from the same address is not affected.
            #expect(try await d.post("/api/auth/login", ["login": "other", "password": "Yanlış-Parola-1"]).status == 401)
            try await d.stop()
        }
    }
}
