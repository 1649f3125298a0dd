import Testing
@testable import Bench

@Suite struct RESPTests {
    /// The messages at the front of `text` with their elements as text, and the bytes they took.
    func scan(_ text: String) throws -> (messages: [[String]], consumed: Int) {
        var messages: [[String]] = []
        let consumed = try Array(text.utf8).withUnsafeBytes { bytes in
            try RESPScanner.scan(bytes) { b, elements in
                messages.append(elements.map { e in
                    switch e {
                    case .bulk(let r): "bulk:" + String(decoding: b[r], as: UTF8.self)
                    case .integer(let n): "int:\(n)"
                    case .simple(let r): "ok:" + String(decoding: b[r], as: UTF8.self)
                    case .error(let r): "err:" + String(decoding: b[r], as: UTF8.self)
                    case .null: "null"
                    }
                })
            }
        }
        return (messages, consumed)
    }

    @Test func aCommandIsAnArrayOfBulkStrings() {
        var out: [UInt8] = []
        RESP.appendCommand([Array("PUBLISH".utf8), Array("GARAN".utf8), Array("{\"a\":1}".utf8)], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "*3\r\n$7\r\nPUBLISH\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n")
    }

    @Test func pushesAndConfirmationsAsRedisSendsThem() throws {
        let text = "*3\r\n$9\r\nsubscribe\r\n$5\r\nAKBNK\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n*3"
        let (messages, consumed) = try scan(text)
        #expect(messages == [["bulk:subscribe", "bulk:AKBNK", "int:2"], ["bulk:message", "bulk:GARAN", "bulk:{\"a\":1}"]])
        #expect(consumed == text.utf8.count - 2, "the next message's start is left for later")
        #expect(try scan("-ERR unknown command\r\n+OK\r\n$-1\r\n").messages == [["err:ERR unknown command"], ["ok:OK"], ["null"]])
    }

    @Test func anIncompleteMessageIsLeftWhole() throws {
        let whole = "*3\r\n$7\r\nmessage\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n"
        for cut in 1..<whole.utf8.count {
            let part = try scan(String(whole.utf8.prefix(cut))!)
            #expect(part.messages.isEmpty && part.consumed == 0, "cut at \(cut)")
        }
    }

    @Test func garbageIsAProtocolError() {
        #expect(throws: RESPScanner.ProtocolError.self) { try scan("?what\r\n") }
        #expect(throws: RESPScanner.ProtocolError.self) { try scan("*x\r\n") }
        #expect(throws: RESPScanner.ProtocolError.self) { try scan("$3\r\nabcd\r\n") }
    }
}
