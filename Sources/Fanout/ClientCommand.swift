import Foundation
import Ingest

/// What a WebSocket client may ask of `/ws/market-data`, parsed from one text message:
/// `{"type":"SUBSCRIBE","symbols":["GARAN","AKBNK"]}` or `{"type":"UNSUBSCRIBE","symbols":[…]}`;
/// a subscription with `"depth":true` also gets the symbols' `DEPTH` (exchange feeds' books).
/// Pure: no I/O. A command is all or nothing: one unknown symbol refuses the whole message.
public enum ClientCommand: Equatable, Sendable {
    case subscribe([SymbolID], depth: Bool = false)
    /// Ends the symbols' ticks, candles and depth.
    case unsubscribe([SymbolID])

    /// The longest inbound message read; a longer one closes the connection (WebSocket 1009).
    public static let maximumMessageBytes = 64 * 1024

    /// Parses one message against the symbols this daemon ingests.
    public static func parse(_ text: String, symbols: SymbolUniverse) throws(ClientCommandError) -> ClientCommand {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw ClientCommandError("a message is a JSON object like {\"type\":\"SUBSCRIBE\",\"symbols\":[\"GARAN\"]}")
            }
            object = o
        } catch let error as ClientCommandError {
            throw error
        } catch {
            throw ClientCommandError("malformed JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "cannot parse the message")")
        }
        for key in object.keys where key != "type" && key != "symbols" && key != "depth" {
            throw ClientCommandError("unknown field \(Sanitized(key)); a message has \"type\", \"symbols\" and, to subscribe to depth, \"depth\"")
        }
        guard let type = object["type"] as? String else { throw ClientCommandError("\"type\" is required: SUBSCRIBE or UNSUBSCRIBE") }
        guard type == "SUBSCRIBE" || type == "UNSUBSCRIBE" else {
            throw ClientCommandError("unknown type \(Sanitized(type)): SUBSCRIBE or UNSUBSCRIBE")
        }
        guard let list = object["symbols"] as? [Any] else {
            throw ClientCommandError("\"symbols\" is required: a list of symbols like [\"GARAN\",\"AKBNK\"]")
        }
        guard !list.isEmpty else { throw ClientCommandError("\"symbols\" is empty") }
        guard list.count <= max(symbols.ingestedCount, 1) else {
            throw ClientCommandError("\"symbols\" lists \(list.count) entries; this daemon ingests \(symbols.ingestedCount) symbols")
        }
        var ids: [SymbolID] = []
        for entry in list {
            guard let name = entry as? String else { throw ClientCommandError("\"symbols\" holds something other than a string") }
            guard let id = symbols.id(for: name) else {
                var copy = name
                let wellFormed = copy.withUTF8 { SymbolTable.isValid(UnsafeRawBufferPointer($0)) }
                throw ClientCommandError(wellFormed
                    ? "unknown symbol \(name): not one of the \(symbols.ingestedCount) symbols this daemon ingests"
                    : "\(Sanitized(name)) is not a symbol: 1 to \(SymbolTable.maximumLength) capital letters and digits")
            }
            if !ids.contains(id) { ids.append(id) }
        }
        var depth = false
        if let value = object["depth"] {
            // JSONSerialization gives true/false and numbers alike as NSNumber (1 and 0 pass `as? Bool`
            // too); a boolean's type code is "c".
            guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
                throw ClientCommandError("\"depth\" is true or false")
            }
            guard type == "SUBSCRIBE" else { throw ClientCommandError("\"depth\" belongs to SUBSCRIBE; UNSUBSCRIBE ends depth with the rest") }
            depth = number.boolValue
        }
        return type == "SUBSCRIBE" ? .subscribe(ids, depth: depth) : .unsubscribe(ids)
    }
}

extension ClientCommand {
    /// The token of an authentication message, `{"type":"AUTH","token":"…"}`, the first message
    /// of a client whose upgrade request carried no `Authorization` header.
    public static func authToken(_ text: String) -> Result<String, ClientCommandError> {
        let expected = "the first message is {\"type\":\"AUTH\",\"token\":\"<access token>\"}"
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return .failure(ClientCommandError("malformed JSON: \(expected)"))
        }
        guard object["type"] as? String == "AUTH" else { return .failure(ClientCommandError(expected)) }
        guard let token = object["token"] as? String, !token.isEmpty else { return .failure(ClientCommandError("\"token\" is required: \(expected)")) }
        return .success(token)
    }
}

/// Why a client's message was refused; sent back as an `ERROR` message. Safe to show: any text
/// from the client in it is quoted and escaped.
public struct ClientCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
