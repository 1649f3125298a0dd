import AlgoLab
import Ingest
import Testing

/// The documented vectors, from AlgoLab's example key.
@Suite struct ProtocolTests {
    static let key = try! AlgoLabAPIKey("API-04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg=")

    @Test func loginFieldsEncryptAsAlgoLabDoes() {
        #expect(Self.key.encrypt("10000000146") == "H7x5QI34UAaWh1LSdyqc/g==")
        #expect(Self.key.encrypt("123456") == "/zyLMr+h2AUei9JsM6IWEA==")
        #expect(Self.key.encrypt("") == "WAsBLA+7iZui6C3VHHGbnQ==")
        #expect(Self.key.decrypt("H7x5QI34UAaWh1LSdyqc/g==") == "10000000146")
        #expect(Self.key.decrypt(Self.key.encrypt("Şifre ğüİı")) == "Şifre ğüİı")
        #expect(Self.key.decrypt("not base64!") == nil)
    }

    @Test func checkersMatchTheVectors() {
        let equity = AlgoLabRequest("GetEquityInfo", ["symbol": .string("TSKB")])
        #expect(String(decoding: equity.body, as: UTF8.self) == #"{"symbol":"TSKB"}"#)
        #expect(Self.key.checker(path: equity.path, body: equity.body) == "7a4ff0b635739ae53f4dfb8c27941ff550853848292ef38f1a782ef9ecd27ced")
        let refresh = AlgoLabRequest("SessionRefresh")
        #expect(refresh.body.isEmpty)
        #expect(Self.key.checker(path: refresh.path, body: refresh.body) == "0090c45dc666d8d5cdf998b71c97beb52f430e671f799deb6cda6f0653f38672")
        #expect(Self.key.checker(path: "/ws") == "74a8943aedf110e4eae2cdf611c23e83b7d0351ce3744c1ab6c7527c1acf1826")
    }

    @Test func headersOfLoginAndOfSessionCalls() {
        let login = AlgoLabRequest("LoginUser", ["Username": .string("a"), "Password": .string("b")], isLogin: true)
        #expect(login.headers(apiKey: Self.key, authorization: "h").map(\.0) == ["APIKEY"])
        let order = AlgoLabRequest("DeleteOrder", ["id": .string("001VEV"), "subAccount": .string("")])
        let headers = order.headers(apiKey: Self.key, authorization: "HASH")
        #expect(headers.map(\.0) == ["APIKEY", "Checker", "Authorization"])
        #expect(headers[0].1 == Self.key.header)
        #expect(headers[2].1 == "HASH")
        #expect(headers[1].1 == Self.key.checker(path: "/api/DeleteOrder", body: order.body))
    }

    @Test func bodiesAreCompactWithNonASCIIEscapedAsPythonDoes() {
        let body = AlgoLabRequest("SendOrder", [
            "symbol": .string("TSKB"), "direction": .string("BUY"), "price": .string("2.01"), "sms": .bool(false), "email": .bool(true),
            "subAccount": .string("Çağrı \"ş\"\\\n\u{1}€𝄞"),
        ]).body
        #expect(String(decoding: body, as: UTF8.self)
            == #"{"symbol":"TSKB","direction":"BUY","price":"2.01","sms":false,"email":true,"subAccount":"\u00c7a\u011fr\u0131 \"\u015f\"\\\n\u0001\u20ac\ud834\udd1e"}"#)
        #expect(body.allSatisfy { $0 < 0x80 })
    }

    @Test func badKeysAreRefusedWithoutShowingThem() {
        for bad in ["04YW0b9Cb8S0MrgBw/Y4iPYi2hjIidW7qj4hrhBhwZg=", "API-%%%", "API-AAAA", ""] {
            #expect(throws: AlgoLabError.self) { try AlgoLabAPIKey(bad) }
            do { _ = try AlgoLabAPIKey(bad) } catch { #expect(!bad.isEmpty ? !"\(error)".contains(bad) : true) }
        }
        #expect("\(Self.key)" == "API-…(redacted)")
        #expect(!"\(Self.key)".contains("04YW"))
    }

    @Test func orderReferencesComeOutOfTheTurkishText() {
        #expect(AlgoLabOrderReference.parse("Referans Numaranız: 001VEV;0000-2923NR-IET - HISSEOK") == "001VEV")
        #expect(AlgoLabOrderReference.parse("Referans Numaranız: FO7XEA;20240925FO7XEA - HISSEOK ") == "FO7XEA")
        #expect(AlgoLabOrderReference.parse("Emriniz reddedildi") == nil)
        #expect(AlgoLabOrderReference.parse("Referans Numaranız: ;x") == nil)
    }

    @Test func repliesMapToTypedErrors() throws {
        struct Token: Decodable { var token: String }
        let ok = Array(#"{"Success":true,"Message":"","Content":{"Token":"abc"}}"#.utf8)
        #expect(try AlgoLabReply.content(Token.self, status: 200, body: ok).token == "abc")
        let lower = Array(#"{"success":true,"message":"","content":{"token":"xyz"}}"#.utf8)
        #expect(try AlgoLabReply.content(Token.self, status: 200, body: lower).token == "xyz")
        let refused = Array(#"{"success":false,"message":"Hatalı SMS kodu","content":null}"#.utf8)
        #expect(throws: AlgoLabError.refused("Hatalı SMS kodu")) { try AlgoLabReply.content(Token.self, status: 200, body: refused) }
        #expect(throws: AlgoLabError.rateLimited) { try AlgoLabReply.content(Token.self, status: 429, body: []) }
        #expect(throws: AlgoLabError.server(status: 503, message: "bakım")) {
            try AlgoLabReply.content(Token.self, status: 503, body: Array(#"{"success":false,"message":"bakım"}"#.utf8))
        }
        #expect(throws: AlgoLabError.sessionExpired("HTTP 401")) { try AlgoLabReply.content(Token.self, status: 401, body: Array("nope".utf8)) }
        #expect(throws: AlgoLabError.self) { try AlgoLabReply.content(Token.self, status: 200, body: Array("<html>".utf8)) }
        #expect(throws: AlgoLabError.self) { try AlgoLabReply.content(Token.self, status: 200, body: Array(#"{"success":true,"content":{}}"#.utf8)) }
        #expect(AlgoLabError.rateLimited.isRetryable && AlgoLabError.server(status: 500, message: "").isRetryable)
        #expect(!AlgoLabError.refused("x").isRetryable)
    }
}
