@testable import Auth
import Crypto
import Foundation
import Ingest
import HummingbirdBcrypt
import JWTKit
import TestSupport
import Testing

/// What Akis makes, others read, and the other way round: tokens with PyJWT and hashes with
/// Python's bcrypt (Debian's python3-jwt and python3-bcrypt, which scripts/test installs).
@Suite(.timeLimit(.minutes(2))) struct InteropTests {
    /// `runPython` off the cooperative pool.
    static func python(_ script: String, _ arguments: [String] = []) async throws -> String {
        try await offThePool { try runPython(script, arguments) }
    }

    /// Runs Debian's Python on `script` with `arguments`; its stdout, or a failure with its stderr.
    static func runPython(_ script: String, _ arguments: [String]) throws -> String {
        try CooperativePool.refuseBlocking("running python3")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning {
            if Date() > deadline { kill(process.processIdentifier, SIGKILL); throw AuthTestFailure("python did not finish within 60 s") }
            sleepBlocking(.microseconds(10_000))
        }
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)  // blocking-checked
        guard process.terminationStatus == 0 else {
            throw AuthTestFailure("python failed: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")  // blocking-checked
        }
        return said.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let secret = "an-interop-secret-of-more-than-32-bytes"

    @Test func akisTokensVerifyWithPyJWT() async throws {
        let tokens = try AccessTokens(keys: [("k1", .hs256, .secret(Array(Self.secret.utf8)))], signingKid: "k1", issuer: "akis", audience: "akis", lifetime: 900)
        let id = UUID()
        let (token, _) = try await tokens.issue(id: id, username: "ayşe", roles: ["user"], level: "pro")
        let decoded = try await Self.python("""
            import jwt, json, sys
            claims = jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"], audience="akis", issuer="akis",
                                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]})
            header = jwt.get_unverified_header(sys.argv[1])
            print(json.dumps({"sub": claims["sub"], "username": claims["username"], "level": claims["level"], "kid": header["kid"]}, sort_keys=True))
            """, [token, Self.secret])
        #expect(decoded == #"{"kid": "k1", "level": "pro", "sub": "\#(id.uuidString.lowercased())", "username": "ay\u015fe"}"#)
        // EdDSA too: PyJWT checks it with the public key alone.
        let ed = EdDSA.PrivateKey(backing: Curve25519.Signing.PrivateKey())
        let edTokens = try AccessTokens(keys: [("e1", .eddsa, .privatePEM(ed.pemRepresentation))], signingKid: "e1", issuer: "akis", audience: "akis", lifetime: 900)
        let edToken = try await edTokens.issue(id: id, username: "u", roles: [], level: "basic").token
        let sub = try await Self.python("""
            import jwt, sys
            print(jwt.decode(sys.argv[1], sys.argv[2], algorithms=["EdDSA"], audience="akis")["sub"])
            """, [edToken, ed.publicKey.pemRepresentation])
        #expect(sub == id.uuidString.lowercased())
    }

    @Test func pyJWTTokensVerifyWithAkisAndItsAlgNoneDoesNot() async throws {
        let tokens = try AccessTokens(keys: [("k1", .hs256, .secret(Array(Self.secret.utf8)))], signingKid: "k1", issuer: "akis", audience: "akis", lifetime: 900)
        let id = UUID()
        let made = try await Self.python("""
            import jwt, sys, time, uuid
            now = int(time.time())
            claims = {"iss": "akis", "aud": "akis", "sub": sys.argv[2], "iat": now, "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4()),
                      "username": "mehmet", "roles": ["user"], "level": "basic"}
            print(jwt.encode(claims, sys.argv[1], algorithm="HS256", headers={"kid": "k1"}))
            print(jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"}))
            print(jwt.encode(dict(claims, exp=now - 1), sys.argv[1], algorithm="HS256", headers={"kid": "k1"}))
            """, [Self.secret, id.uuidString.lowercased()]).split(separator: "\n").map(String.init)
        #expect(made.count == 3)
        let user = try await tokens.verify(made[0])
        #expect(user.id == id && user.username == "mehmet" && user.level == "basic")
        await #expect(throws: TokenRejection.algorithm("none")) { try await tokens.verify(made[1]) }
        await #expect(throws: TokenRejection.expired) { try await tokens.verify(made[2]) }
    }

    @Test func bcryptHashesVerifyBothWays() async throws {
        let password = "Güçlü-Parola-42 ışığı"
        let ours = Bcrypt.hash(password, cost: 5)
        #expect(ours.hasPrefix("$2b$05$"))
        let checks = try await Self.python("""
            import bcrypt, sys
            print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()), bcrypt.checkpw(b"wrong", sys.argv[2].encode()))
            print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(5)).decode())
            """, [password, ours]).split(separator: "\n").map(String.init)
        #expect(checks.first == "True False")
        let theirs = try #require(checks.last)
        #expect(theirs.hasPrefix("$2b$05$") && Bcrypt.verify(password, hash: theirs) && !Bcrypt.verify("wrong", hash: theirs))
    }
}
