import AlgoLab
import Ingest
import Testing

@Suite struct StreamDecoderTests {
    static let symbols = try! SymbolTable(["PEHOL", "ESEN", "TSKB"])

    func decode(_ d: inout AlgoLabStreamDecoder, _ text: String) -> Result<AlgoLabStreamDecoder.Message, FrameError> {
        var text = text
        return text.withUTF8 { d.decode(UnsafeRawBufferPointer($0), receiveTime: 42) }
    }

    func message(_ r: Result<AlgoLabStreamDecoder.Message, FrameError>) -> AlgoLabStreamDecoder.Message? {
        if case .success(let m) = r { return m }
        return nil
    }

    func tick(_ r: Result<AlgoLabStreamDecoder.Message, FrameError>) -> Tick? {
        if case .success(.tick(let t)) = r { return t }
        return nil
    }

    @Test func tradesComeOutExact() throws {
        var d = AlgoLabStreamDecoder(symbols: Self.symbols, feed: 7)
        let t = try #require(tick(decode(&d, #"{"Type":"T","Content":{"Symbol":"PEHOL","Market":"IMKBH","Price":2.48,"Change":-0.27,"Ask":2.48,"Bid":0.0,"Date":"2024-09-25T14:46:35+03:00","ChangePercentage":-9.82,"High":2.48,"Low":2.48,"TradeQuantity":100.0,"Direction":"B","RefPrice":2.75,"BalancePrice":0.0,"BalanceAmount":0.0,"Buying":"Midas","Selling":"Seker"}}"#)))
        #expect(t.kind == .trade && t.side == .buy && t.feed == 7 && t.receiveTime == 42 && t.sequence == 0)
        #expect(t.symbol == Self.symbols.id(for: "PEHOL"))
        #expect(t.price == Price("2.48") && t.quantity == 100 && t.bid == .zero && t.ask == Price("2.48"))
        #expect(UTCTime.formatISO8601(t.exchangeTime) == "2024-09-25T11:46:35.000Z")
        // A price a Double would round is kept to the last digit; keys in another case are read too.
        let exact = try #require(tick(decode(&d, #"{"type":"T","content":{"symbol":"TSKB","price":11.770001,"tradequantity":3,"date":"2024-09-25T14:46:35.123+03:00","direction":"S"}}"#)))
        #expect(exact.price.units == 11_770_001 && exact.side == .sell && exact.quantity == 3)
    }

    @Test func topOfBookRowsBecomeQuotesWithBothSides() throws {
        var d = AlgoLabStreamDecoder(symbols: Self.symbols, feed: 1)
        let bid = try #require(tick(decode(&d, #"{"Type":"D","Content":{"Symbol":"ESEN","Market":"IMKBH","Direction":"B","Row":0,"Quantity":8348,"Price":20.04,"OrderCount":128,"Date":"2024-09-25T14:51:18+03:00"}}"#)))
        #expect(bid.kind == .quote && bid.bid == Price("20.04") && bid.ask == .zero && bid.price == .zero)
        let ask = try #require(tick(decode(&d, #"{"Type":"D","Content":{"Symbol":"ESEN","Direction":"S","Row":0,"Quantity":10,"Price":20.06,"Date":"2024-09-25T14:51:19+03:00"}}"#)))
        #expect(ask.bid == Price("20.04") && ask.ask == Price("20.06"))
        #expect(message(decode(&d, #"{"Type":"D","Content":{"Symbol":"ESEN","Direction":"S","Row":3,"Quantity":10,"Price":20.10,"Date":"2024-09-25T14:51:19+03:00"}}"#))
            == .deeperDepth)
        // Another symbol's book is its own.
        let other = try #require(tick(decode(&d, #"{"Type":"D","Content":{"Symbol":"TSKB","Direction":"A","Row":0,"Quantity":1,"Price":11.8,"Date":"2024-09-25T14:51:19+03:00"}}"#)))
        #expect(other.bid == .zero && other.ask == Price("11.8"))
    }

    @Test func orderUpdatesKeepRawCodesAndTheReference() throws {
        var d = AlgoLabStreamDecoder(symbols: Self.symbols, feed: 1)
        let r = decode(&d, #"{"Type":"O","Content":{"Id":"fe52938525764d6c81aa305444e5937f","Date":"2024-09-25T15:30:25.61","Direction":1,"Symbol":"TSKB","Lot":1.0,"PriceType":0,"Price":11.78,"Comment":"Referans Numaranız: FO7XEA;20240925FO7XEA - HISSEOK ","Status":2,"Channel":"DenizYatirimHcp","ExecutedLot":1.0,"ExecutedPrice":11.77}}"#)
        guard case .success(.order(let o)) = r else { Issue.record("not an order: \(r)"); return }
        #expect(o.id == "fe52938525764d6c81aa305444e5937f" && o.reference == "FO7XEA" && o.symbol == "TSKB")
        #expect(UTCTime.formatISO8601(o.time) == "2024-09-25T12:30:25.610Z")
        #expect(o.lots == 1 && o.executedLots == 1 && o.isFilled && o.status == .filled)
        #expect(o.price == Price("11.78") && o.executedPrice == Price("11.77"))
        #expect(o.rawDirection == 1 && o.rawPriceType == 0 && o.channel == "DenizYatirimHcp")
        #expect(o.comment.hasPrefix("Referans Numaranız"))
    }

    @Test func badMessagesAreSpecificErrorsAndUnknownTypesAreNamed() {
        var d = AlgoLabStreamDecoder(symbols: Self.symbols, feed: 1)
        let cases: [(String, FrameErrorKind)] = [
            ("{", .badJSON),
            (#"{"Type":"T"}"#, .badJSON),
            (#"{"Content":{}}"#, .badJSON),
            (#"{"Type":"T","Content":{"Symbol":"XXXX","Price":1,"TradeQuantity":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .unknownSymbol),
            (#"{"Type":"T","Content":{"Symbol":"PE HOL","Price":1,"TradeQuantity":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .badSymbol),
            (#"{"Type":"T","Content":{"Symbol":"PEHOL","Price":"1","TradeQuantity":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .badField),
            (#"{"Type":"T","Content":{"Symbol":"PEHOL","Price":1.0000001,"TradeQuantity":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .badField),
            (#"{"Type":"T","Content":{"Symbol":"PEHOL","Price":0,"TradeQuantity":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .nonPositivePrice),
            (#"{"Type":"T","Content":{"Symbol":"PEHOL","Price":1,"TradeQuantity":1.5,"Date":"2024-09-25T14:46:35+03:00"}}"#, .badField),
            (#"{"Type":"T","Content":{"Symbol":"PEHOL","Price":1,"TradeQuantity":1,"Date":"yesterday"}}"#, .badTimestamp),
            (#"{"Type":"D","Content":{"Symbol":"ESEN","Direction":"X","Row":0,"Price":1,"Date":"2024-09-25T14:46:35+03:00"}}"#, .badField),
            (#"{"Type":"O","Content":{"Id":"x"}}"#, .badJSON),
            (#"{"Type":"T","Type":"D","Content":{}}"#, .badJSON),
        ]
        for (text, kind) in cases {
            guard case .failure(let e) = decode(&d, text) else { Issue.record("accepted: \(text)"); continue }
            #expect(e.kind == kind, "\(text): \(e)")
        }
        #expect(message(decode(&d, #"{"Type":"N","Content":{"Headline":"KAP"}}"#)) == .unknown(type: "N"))
    }
}
