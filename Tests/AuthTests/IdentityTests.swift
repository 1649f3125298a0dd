@testable import Auth
import Testing

@Suite struct IdentityTests {
    @Test(arguments: ["10000000146", "17291716060"]) func validTCKNs(_ text: String) {
        #expect(TCKN.problem(text) == nil)
    }

    @Test func tcknChecksumAndFormat() {
        #expect(TCKN.problem("17291716050") == .checksum)
        #expect(TCKN.problem("07291716092") == .format)
        #expect(TCKN.problem("1729171606") == .format)
        #expect(TCKN.problem("172917160600") == .format)
        #expect(TCKN.problem("1729171606a") == .format)
        #expect(TCKN.problem("") == .format)
        #expect(TCKN.problem("١٧٢٩١٧١٦٠٦٠") == .format, "Arabic-Indic digits are not digits here")
    }

    @Test func turkishFoldingMergesTheFourIs() {
        #expect(IdentityKey.of("ISIL") == IdentityKey.of("ısıl") && IdentityKey.of("ŞIŞLI") == IdentityKey.of("şişli"))
        #expect(IdentityKey.of("İsmail") == IdentityKey.of("ismail"))
        #expect(IdentityKey.of("ISMAIL") == IdentityKey.of("ismail"))
        #expect(IdentityKey.of("Çağrı.Öz") == "çagri.öz".replacingOccurrences(of: "g", with: "ğ"))
        #expect(IdentityKey.of("Ali@Example.COM") == "ali@example.com")
        // Canonically equal spellings are one name: a precomposed ş and s + combining cedilla.
        #expect(IdentityKey.of("Şule") == IdentityKey.of("S\u{0327}ule"))
        #expect(IdentityKey.of("ayse") != IdentityKey.of("ayşe"))
    }

    @Test func registrationRulesListEveryFailure() {
        let bad = RegistrationRequest(email: "not-an-email", username: "1x", password: "short", firstName: " Ali", tckn: "17291716050")
        let failures = RegistrationRules.check(bad)
        let codes = Set(failures.map { "\($0.field).\($0.rule)" })
        #expect(codes == ["email.format", "username.length", "password.length", "password.uppercase", "password.digit", "password.symbol",
                          "firstName.format", "tckn.checksum"], "\(codes)")
        let good = RegistrationRequest(email: "ayse.yilmaz@example.com.tr", username: "ayşe_yılmaz", password: "Güçlü-Parola-42",
                                       firstName: "Ayşe", lastName: "Yılmaz-Öztürk", tckn: "10000000146")
        #expect(RegistrationRules.check(good) == [])
    }

    @Test func passwordRules() {
        func rules(_ p: String) -> Set<String> { Set(RegistrationRules.password(p, username: "mehmet", email: "m.kaya@example.com").map(\.rule)) }
        #expect(rules("Abcdefgh1!") == [])
        #expect(rules("xMEHMETx1!") == ["contains_username"])
        #expect(rules("M.KAYA-2024x") == ["contains_email"])
        #expect(rules(String(repeating: "Aa1!", count: 19)) == ["too_long"])
        #expect(rules("Abcdefgh1\u{0007}") == ["control"])
        #expect(rules("ŞİFRE-ığüşöç-1") == [], "Turkish letters count as lower- and uppercase")
    }

    @Test func emailRules() {
        for good in ["a@b.co", "first.last+tag@sub.example.com.tr", "x@xn--bcher-kva.example"] { #expect(RegistrationRules.email(good) == [], "\(good)") }
        for bad in ["", "@b.co", "a@", "a@b", "a@@b.co", "a..b@c.co", ".a@b.co", "a@-b.co", "a@b.c-", "a b@c.co", "ayşe@example.com",
                    "a@b.123", "a@b.co\r\nBcc: x@y.z", "a'; DROP TABLE auth_users;--@x.co x", String(repeating: "a", count: 65) + "@b.co",
                    "a@" + String(repeating: "b", count: 250) + ".co"] {
            #expect(RegistrationRules.email(bad).map(\.rule) == ["format"], "\(bad)")
        }
    }

    @Test func usernamesAndNames() {
        #expect(RegistrationRules.username("çağrı.öz").isEmpty)
        #expect(RegistrationRules.username("ab").map(\.rule) == ["length"])
        #expect(RegistrationRules.username("a@b").map(\.rule) == ["characters"])
        #expect(RegistrationRules.username("ali veli").map(\.rule) == ["characters"])
        #expect(RegistrationRules.username("robert'); DROP TABLE").map(\.rule) == ["characters"])
        #expect(RegistrationRules.name("İbrahim Halil", field: "firstName").isEmpty)
        #expect(RegistrationRules.name("O'Neil-Çelik", field: "lastName").isEmpty)
        #expect(RegistrationRules.name("<script>", field: "lastName").map(\.rule) == ["format"])
        #expect(RegistrationRules.name("", field: "lastName").map(\.rule) == ["format"])
        #expect(RegistrationRules.name(String(repeating: "ğ", count: 101), field: "lastName").map(\.rule) == ["format"])
    }
}
