import Ingest
import Testing

@testable import Orders

@Suite struct OrderRequestTests {
    static func parse(_ json: String) -> Result<OrderRequest, OrderRejection> {
        Result { () throws(OrderRejection) in try OrderRequest.parse(Array(json.utf8)) }
    }

    static func code(_ json: String) -> OrderRejection.Code? {
        if case .failure(let rejection) = parse(json) { return rejection.code }
        return nil
    }

    @Test func aWellFormedOrderReadsExactly() throws {
        let request = try Self.parse(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1000,"price":15.75,"clientOrderId":"s1-42"}"#).get()
        #expect(request.terms == OrderTerms(symbol: "GARAN", side: .buy, type: .limit, timeInForce: .day, quantity: 1000, price: Price("15.75")))
        #expect(request.clientOrderId == "s1-42")
        let market = try Self.parse(#"{"symbol":"THYAO","side":"SELL","type":"MARKET","timeInForce":"IOC","quantity":"5"}"#).get()
        #expect(market.terms == OrderTerms(symbol: "THYAO", side: .sell, type: .market, timeInForce: .ioc, quantity: 5, price: nil))
        #expect(try Self.parse(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":"0.000001"}"#).get().terms.price?.units == 1)
    }

    @Test(arguments: [
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":-5,"price":1}"#, "quantity_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":0,"price":1}"#, "quantity_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":-0,"price":1}"#, "quantity_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1.5,"price":1}"#, "quantity_not_whole"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":9223372036854775808,"price":1}"#, "quantity_above_maximum"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":-9223372036854775809,"price":1}"#, "quantity_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1e3,"price":1}"#, "invalid_number"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":"ten","price":1}"#, "invalid_number"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":true,"price":1}"#, "invalid_type"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":[1],"price":1}"#, "invalid_type"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":15.7500001}"#, "price_too_precise"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1.575e1}"#, "invalid_number"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":-15.75}"#, "price_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":0}"#, "price_not_positive"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":99999999999999999999}"#, "price_above_limit"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":"15."}"#, "invalid_number"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":null}"#, "invalid_type"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1}"#, "price_required"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"MARKET","quantity":1,"price":10}"#, "price_not_allowed"),
        (#"{"symbol":"garan","side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "unknown_symbol"),
        (#"{"symbol":"GARAN'; DROP TABLE orders;--","side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "unknown_symbol"),
        (#"{"symbol":"ABCDEFGHIJKLM","side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "unknown_symbol"),
        (#"{"symbol":42,"side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "invalid_type"),
        (#"{"symbol":"GAR\u0041N","side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "malformed_body"),
        (#"{"symbol":"GARAN","side":"buy","orderType":"LIMIT","quantity":1,"price":1}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"STOP","quantity":1,"price":1}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","timeInForce":"GTC","quantity":1,"price":1}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"qty":5}"#, "unknown_field"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"quantity":2,"price":1}"#, "duplicate_field"),
        (#"{"symbol":"GARAN","side":"BUY","type":"LIMIT","orderType":"LIMIT","quantity":1,"price":1}"#, "duplicate_field"),
        (#"{"side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"#, "missing_field"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"clientOrderId":""}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"clientOrderId":"a b"}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"clientOrderId":"İ"}"#, "invalid_value"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1"#, "malformed_body"),
        (#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1} x"#, "malformed_body"),
        (#"[{"symbol":"GARAN"}]"#, "malformed_body"),
        ("", "malformed_body"),
        ("{\"symbol\":\"GARAN\"\u{0}}", "malformed_body"),
    ])
    func hostileInputGetsItsOwnCode(json: String, code: String) {
        #expect(Self.code(json)?.rawValue == code, "\(json)")
    }

    @Test func everyRefusalNamesItsFieldAndKeepsHostileTextOutOfTheMessage() throws {
        guard case .failure(let unknown) = Self.parse(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"evil\r\nX-Injected: 1":0}"#)
        else { Issue.record("accepted"); return }
        #expect(unknown.code == .unknownField)
        #expect(!unknown.message.contains("\r\n"))
        guard case .failure(let precise) = Self.parse(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":15.7500001}"#)
        else { Issue.record("accepted"); return }
        #expect(precise.field == "price" && precise.message.contains("15.7500001") && precise.httpStatus == 400)
    }

    @Test func anOversizedBodyIsRefusedBeforeItIsRead() {
        let padding = String(repeating: " ", count: OrderRequest.maximumBodyBytes)
        #expect(Self.code(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1}"# + padding) == .bodyTooLarge)
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(Self.code(#"{"x":"# + deep + "}") == .unknownField)
        #expect(Self.code(#"{"symbol":"# + deep + "}") == .malformedBody)
        #expect(Self.code(#"{"symbol":"GARAN","side":"BUY","orderType":"LIMIT","quantity":1,"price":1,"clientOrderId":"# + "\"" + String(repeating: "a", count: 65) + "\"}") == .invalidValue)
    }
}
