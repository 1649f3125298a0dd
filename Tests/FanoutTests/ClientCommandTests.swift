import Fanout
import Foundation
import Ingest
import Testing

@Suite struct ClientCommandTests {
    let symbols = SymbolUniverse(try! SymbolTable(["GARAN", "AKBNK", "THYAO"]))

    func refusal(_ text: String) -> String? {
        do {
            _ = try ClientCommand.parse(text, symbols: symbols)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func subscribeAndUnsubscribeNameKnownSymbolsOnce() throws {
        #expect(try ClientCommand.parse(#"{"type":"SUBSCRIBE","symbols":["THYAO","GARAN","THYAO"]}"#, symbols: symbols)
                == .subscribe([SymbolID(2), SymbolID(0)]))
        #expect(try ClientCommand.parse(#" {"symbols":["AKBNK"], "type":"UNSUBSCRIBE"} "#, symbols: symbols) == .unsubscribe([SymbolID(1)]))
    }

    @Test func aSubscriptionMayAskForDepth() throws {
        #expect(try ClientCommand.parse(#"{"type":"SUBSCRIBE","symbols":["GARAN"],"depth":true}"#, symbols: symbols) == .subscribe([SymbolID(0)], depth: true))
        #expect(try ClientCommand.parse(#"{"type":"SUBSCRIBE","symbols":["GARAN"],"depth":false}"#, symbols: symbols) == .subscribe([SymbolID(0)]))
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN"],"depth":1}"#) == "\"depth\" is true or false")
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN"],"depth":"yes"}"#) == "\"depth\" is true or false")
        #expect(refusal(#"{"type":"UNSUBSCRIBE","symbols":["GARAN"],"depth":true}"#)?.hasPrefix("\"depth\" belongs to SUBSCRIBE") == true)
    }

    @Test func badMessagesGetSpecificReasons() {
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN"]"#)?.hasPrefix("malformed JSON") == true)
        #expect(refusal("[1,2]")?.contains("a message is a JSON object") == true)
        #expect(refusal(#"{"symbols":["GARAN"]}"#) == "\"type\" is required: SUBSCRIBE or UNSUBSCRIBE")
        #expect(refusal(#"{"type":"subscribe","symbols":["GARAN"]}"#) == "unknown type \"subscribe\": SUBSCRIBE or UNSUBSCRIBE")
        #expect(refusal(#"{"type":"SUBSCRIBE"}"#)?.hasPrefix("\"symbols\" is required") == true)
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":"GARAN"}"#)?.hasPrefix("\"symbols\" is required") == true)
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":[]}"#) == "\"symbols\" is empty")
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN",7]}"#) == "\"symbols\" holds something other than a string")
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN"],"token":"x"}"#)?.hasPrefix("unknown field \"token\"") == true)
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["GARAN","XYZ"]}"#) == "unknown symbol XYZ: not one of the 3 symbols this daemon ingests")
        let many = (0..<4).map { _ in "\"GARAN\"" }.joined(separator: ",")
        #expect(refusal(#"{"type":"SUBSCRIBE","symbols":["# + many + "]}")?.contains("lists 4 entries") == true)
    }

    @Test func hostileTextIsQuotedAndEscapedInTheReasonAndTheReply() throws {
        let reason = try #require(refusal("{\"type\":\"SUBSCRIBE\",\"symbols\":[\"GA\\\"RAN\\u0000\\n<script>\"]}"))
        #expect(reason == #""GA\"RAN\x00\x0A<script>" is not a symbol: 1 to 12 capital letters and digits"#)
        // The ERROR message carrying it is valid JSON that reads back to the same reason.
        let reply = MarketMessage.error(reason)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "ERROR" && (object["data"] as? [String: Any])?["message"] as? String == reason)
    }
}
