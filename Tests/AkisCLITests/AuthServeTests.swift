import Foundation
import Store
import TestSupport
import Testing

/// `akis serve` with `[auth]`: the market data behind tokens over real HTTP and WebSocket, and the
/// operators' `akis users`. Tests of the `AkisCLITests` suite (its `.timeLimit`); every wait has
/// its own deadline too.
extension AkisCLITests {
    func authConfig(_ url: String, _ dir: String) -> String {
        """
        [database]
        url = "\(url)"
        [store]
        spool_directory = "\(dir)/spool"
        retention_days = 36500
        [auth]
        bcrypt_cost = 4
        key_file = "\(dir)/jwt.key"
        maildir = "\(dir)/mail"
        [auth.levels.basic]
        symbols_per_connection = 2
        """
    }

    /// Logs in over HTTP; the access token, or the refusal's error code.
    func login(_ http: String, _ user: String, _ password: String) throws -> (token: String?, error: String?) {
        let body = try JSONSerialization.data(withJSONObject: ["login": user, "password": password])
        let r = try httpRequest(http, "POST", "/api/auth/login", headers: [("Content-Type", "application/json")], body: Array(body))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
        return (json["accessToken"] as? String, json["error"] as? String)
    }

    @Test func theMarketDataNeedsATokenAndOperatorsManageUsers() async throws {
        try await offThePool { try self.marketDataNeedsATokenAndOperatorsManageUsers() }
    }

    func marketDataNeedsATokenAndOperatorsManageUsers() throws {
        try withScratchDatabase { url in
            let dir = scratchFile("auth")
            let (serve, _, http) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: authConfig(url, dir))
            let added = try akis("users", "add", "trader", "--email", "trader@example.com", "--database", url)
            #expect(added.status == 0 && added.stdout.hasPrefix("added trader ("), "\(added)")
            let password = try #require(added.stdout.components(separatedBy: "password: ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
            let token = try #require(try login(http, "trader", password).token)

            // HTTP: 401 with a Bearer challenge without a token or with a bad one; 200 with it.
            let open = try httpRequest(http, "GET", "/api/market/latest")
            #expect(open.status == 401 && open.headers["www-authenticate"] == "Bearer" && open.body.contains("Authorization: Bearer"), "\(open)")
            #expect(try httpRequest(http, "GET", "/api/market/latest", headers: [("Authorization", "Bearer \(token)x")]).status == 401)
            #expect(try httpRequest(http, "GET", "/api/market/latest", headers: [("Authorization", "Bearer \(token)")]).status == 200)
            #expect(try httpRequest(http, "GET", "/api/market/candles?symbol=GARAN").status == 401)
            #expect(try httpRequest(http, "GET", "/api/market/candles?symbol=GARAN", headers: [("Authorization", "Bearer \(token)")]).status != 401)
            #expect(try httpGet(http, "/healthz").status == 200, "the operator routes stay open")

            // The orders module is served beside auth: a user without a paper account is told so.
            let order = Array(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":10}"#.utf8)
            let noAccount = try httpRequest(http, "POST", "/api/trading/orders",
                                            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: order)
            #expect(noAccount.status == 403 && noAccount.body.contains(#""error":"no_account""#), "\(noAccount)")
            #expect(try httpRequest(http, "POST", "/api/trading/orders", headers: [("Content-Type", "application/json")], body: order).status == 401)
            // Operators' paper cash.
            let deposit = try akis("accounts", "deposit", "trader", "2500.50", "--database", url)
            #expect(deposit.status == 0 && deposit.stdout == "trader: cash 2500.5 TRY (settled 2500.5), reserved 0, buying power 2500.5\n", "\(deposit)")
            let tooMuch = try akis("accounts", "withdraw", "TRADER", "3000", "--database", url)
            #expect(tooMuch.status != 0 && tooMuch.stderr.contains("3000 TRY is more than can be withdrawn: 2500.5 TRY"), "\(tooMuch)")
            #expect(try akis("accounts", "withdraw", "trader@example.com", "500.50", "--database", url).stdout.contains("cash 2000 TRY"))
            let exponent = try akis("accounts", "deposit", "trader", "1e3", "--database", url)
            #expect(exponent.status != 0 && exponent.stderr.contains("is not an amount of lira"), "\(exponent)")
            let nobody = try akis("accounts", "show", "nobody", "--database", url)
            #expect(nobody.status != 0 && nobody.stderr.contains("no account is named \"nobody\""), "\(nobody)")
            let ledger = try LibpqConnection(conninfo: url).execute("SELECT sum(amount) FROM trading_ledger WHERE account = 'cash_settled'").rows
            #expect(ledger == [["200000"]], "\(ledger)")

            // The socket: AUTH first (akis subscribe --token), the basic level's two symbols.
            let ws = "ws://\(http)/ws/market-data"
            let subscribed = try akis("subscribe", "--token", token, "--duration", "1s", ws, "GARAN", "AKBNK")
            let lines = subscribed.stdout.split(separator: "\n")
            #expect(lines.count >= 3 && lines[0].hasPrefix(#"{"type":"AUTHENTICATED","data":{"userId":"#) && lines[0].contains(#""subscriptionLevel":"basic""#)
                    && lines[1].hasPrefix(#"{"type":"SUBSCRIBED""#), "\(subscribed)")
            let tooMany = try akis("subscribe", "--token", token, "--duration", "1s", ws, "GARAN", "AKBNK", "THYAO")
            #expect(tooMany.stdout.contains("at most 2 symbols per connection for the basic level"), "\(tooMany)")
            let refused = try akis("subscribe", "--duration", "10s", ws, "GARAN")
            #expect(refused.stdout.contains(#"{"type":"ERROR""#) && refused.stderr.contains("closed by the server: policyViolation"), "\(refused)")

            // Operators: the level, disabling, a new password.
            #expect(try akis("users", "set-level", "TRADER", "pro", "--database", url).status == 0)
            let pro = try #require(try login(http, "trader@example.com", password).token)
            let proSession = try akis("subscribe", "--token", pro, "--duration", "1s", ws, "GARAN", "AKBNK", "THYAO")
            #expect(proSession.stdout.contains(#""subscriptionLevel":"pro""#) && !proSession.stdout.contains("at most"), "\(proSession)")
            #expect(try akis("users", "disable", "trader", "--database", url).status == 0)
            #expect(try login(http, "trader", password).error == "account_disabled")
            let list = try akis("users", "list", "--database", url)
            #expect(list.stdout.contains("trader  trader@example.com") && list.stdout.contains("pro, verified, disabled") && list.stdout.hasSuffix("1 accounts\n"), "\(list)")
            #expect(try akis("users", "enable", "trader", "--database", url).status == 0)
            let reset = try akis("users", "reset-password", "trader", "--database", url)
            let fresh = try #require(reset.stdout.components(separatedBy: ": ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try login(http, "trader", password).error == "invalid_credentials")
            #expect(try login(http, "trader", fresh).token != nil)
            let unknown = try akis("users", "disable", "nobody", "--database", url)
            #expect(unknown.status != 0 && unknown.stderr.contains("no account is named \"nobody\""), "\(unknown)")
            let weak = try akis("users", "add", "weakling", "--email", "w@example.com", "--level", "gold", "--database", url)
            #expect(weak.status != 0 && weak.stderr.contains("the level is basic or pro"), "\(weak)")
            let events = try LibpqConnection(conninfo: url).execute(
                "SELECT event_type, count(*) FROM event_store WHERE topic = 'user-events' GROUP BY 1 ORDER BY 1").rows
            #expect(events == [["UserProfileUpdated", "4"], ["UserRegistered", "1"]], "\(events)")
            let (_, result) = stopServe(serve, after: "auth:")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("orders: paper trading at http://"), "\(result.stderr)")
        }
    }

    @Test func checkConfigDescribesAuthWithoutItsSecrets() async throws {
        try await offThePool { try self.checkConfigDescribesAuthWithoutItsSecretsBody() }
    }

    func checkConfigDescribesAuthWithoutItsSecretsBody() throws {
        let config = scratchFile("akis.toml")
        try """
            [database]
            url = "host=/nonexistent dbname=x"
            [auth]
            signing_kid = "k2"
            [[auth.keys]]
            kid = "k1"
            secret = "an-inline-secret-of-at-least-32-bytes-xyz"
            [[auth.keys]]
            kid = "k2"
            algorithm = "HS256"
            secret_env = "AKIS_TEST_JWT_SECRET"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let check = try akis("serve", "--config", config, "--check-config")
        #expect(check.status == 0 && check.stdout.contains("auth: market data needs a token, bcrypt cost 12")
                && check.stdout.contains("keys: k1 HS256 inline, k2 HS256 from $AKIS_TEST_JWT_SECRET (signs)"), "\(check)")
        #expect(!check.stdout.contains("an-inline-secret"))
        try "[auth]\nsigning_kid = \"k9\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try akis("serve", "--config", config, "--check-config")
        #expect(bad.status != 0 && bad.stderr.contains("auth.signing_kid (line 2): \"k9\" is not the kid of an [[auth.keys]] table"), "\(bad.stderr)")
        try "[auth]\n[[auth.keys]]\nkid = \"k1\"\nsecret = \"short\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let short = try akis("serve", "--config", config, "--check-config")
        #expect(short.status != 0 && short.stderr.contains("an HS256 secret has at least 32 bytes") && !short.stderr.contains("short\""), "\(short.stderr)")
        try "[auth]\nbcrypt_cost = 40\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try akis("serve", "--config", config, "--check-config").stderr.contains("auth.bcrypt_cost (line 2): 40 is out of range 4...31"))
        try "[auth]\nbcrypt_cost = 12\nbcrypt_cpu_share = 0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let share = try akis("serve", "--config", config, "--check-config")
        #expect(share.status != 0 && share.stderr.contains("auth.bcrypt_cpu_share (line 3)"), "\(share.stderr)")
        // [auth] needs a database: a clear refusal at start.
        try "[http]\naddress = \"127.0.0.1:0\"\n[auth]\nkey_file = \"\(scratchFile("k"))\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let noDatabase = try akis("serve", "--config", config)
        #expect(noDatabase.status != 0 && noDatabase.stderr.contains("[auth] needs a database ([database] url)"), "\(noDatabase.stderr)")
    }
}
