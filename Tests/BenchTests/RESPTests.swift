import NIOCore
import Testing
@testable import Bench

@Suite struct RESPTests {
    func parse(_ text: String) throws -> (values: [RESP.Value]?, left: Int) {
        var buffer = ByteBuffer(string: text)
        let values = try RESPPushDecoder.parse(&buffer)
        return (values, buffer.readableBytes)
    }

    @Test func aCommandIsAnArrayOfBulkStrings() {
        var out: [UInt8] = []
        RESP.appendCommand([Array("PUBLISH".utf8), Array("GARAN".utf8), Array("{\"a\":1}".utf8)], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "*3\r\n$7\r\nPUBLISH\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n")
    }

    @Test func pushesAndConfirmationsAsRedisSendsThem() throws {
        let message = try parse("*3\r\n$7\r\nmessage\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n*3")
        #expect(message.values == [.bulk(ByteBuffer(string: "message")), .bulk(ByteBuffer(string: "GARAN")), .bulk(ByteBuffer(string: "{\"a\":1}"))])
        #expect(message.left == 2, "the next message's start is left for later")
        let confirmation = try parse("*3\r\n$9\r\nsubscribe\r\n$5\r\nAKBNK\r\n:2\r\n")
        #expect(confirmation.values == [.bulk(ByteBuffer(string: "subscribe")), .bulk(ByteBuffer(string: "AKBNK")), .integer(2)])
        #expect(try parse("-ERR unknown command\r\n").values == [.error("ERR unknown command")])
        #expect(try parse("+OK\r\n").values == [.simple("OK")])
        #expect(try parse("$-1\r\n").values == [.null])
    }

    @Test func anIncompleteMessageIsNotYetAMessage() throws {
        let whole = "*3\r\n$7\r\nmessage\r\n$5\r\nGARAN\r\n$7\r\n{\"a\":1}\r\n"
        for cut in 1..<whole.utf8.count {
            let part = try parse(String(whole.utf8.prefix(cut))!)
            #expect(part.values == nil, "cut at \(cut)")
        }
    }

    @Test func garbageIsAProtocolError() {
        #expect(throws: RESPPushDecoder.ProtocolError.self) { try parse("?what\r\n") }
        #expect(throws: RESPPushDecoder.ProtocolError.self) { try parse("*x\r\n") }
        #expect(throws: RESPPushDecoder.ProtocolError.self) { try parse("$3\nabc\r\n") }
    }
}
