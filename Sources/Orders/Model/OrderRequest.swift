import Ingest

/// A `POST /api/trading/orders` body, read strictly: every field is checked for its JSON type
/// and form before any rule runs, an unknown or repeated field is refused (a mistyped `qty`
/// must not place an order for a default quantity), and numbers are read exactly — as JSON
/// numbers or strings, never through binary floating point, never with an exponent.
public struct OrderRequest: Hashable, Sendable {
    public var terms: OrderTerms
    /// The caller's idempotency key: a retried POST with the same key returns the same order.
    public var clientOrderId: String?

    public init(terms: OrderTerms, clientOrderId: String? = nil) {
        self.terms = terms
        self.clientOrderId = clientOrderId
    }

    /// The largest body read; a larger one is refused before it is parsed.
    public static let maximumBodyBytes = 4096
    static let clientOrderIdMaximumLength = 64

    /// Parses a request body; every failure names the field and what is wrong with it.
    public static func parse(_ body: [UInt8]) throws(OrderRejection) -> OrderRequest {
        guard body.count <= maximumBodyBytes else {
            throw OrderRejection(.bodyTooLarge, "the body is \(body.count) bytes; an order takes at most \(maximumBodyBytes)")
        }
        var fields = Fields()
        let failure: OrderRejection? = body.withUnsafeBytes { raw in
            var rejection: OrderRejection?
            let error = JSONScanner.read(raw) { s in
                try s.expect(UInt8(ascii: "{"))
                try s.objectMembers { s, key in
                    do throws(OrderRejection) {
                        try fields.take(key: s.b[key], from: &s)
                    } catch {
                        rejection = error
                        throw error
                    }
                }
            }
            if let rejection { return rejection }
            return error.map { OrderRejection(.malformedBody, "the body is not a JSON object: \($0)") }
        }
        if let failure { throw failure }
        return try fields.request()
    }

    /// The fields as they are read, each at most once.
    struct Fields {
        var symbol: String?
        var side: OrderSide?
        var type: OrderType?
        var timeInForce: TimeInForce?
        var quantity: Int64?
        var price: Price?
        var clientOrderId: String?
        var seen: Set<String> = []

        mutating func take(key rawKey: Slice<UnsafeRawBufferPointer>, from s: inout JSONScanner) throws(OrderRejection) {
            let key = String(decoding: rawKey, as: UTF8.self)
            // `type` and the reference schema's `orderType` name one field.
            let name = key == "type" ? "orderType" : key
            guard Self.names.contains(name) else {
                throw OrderRejection(.unknownField, field: String(describing: Sanitized(key)),
                                     "unknown field \(Sanitized(key)); an order has \(Self.names.sorted().joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw OrderRejection(.duplicateField, field: key, "\(key) is given twice") }
            let value = try Token.read(from: &s, field: key)
            switch name {
            case "symbol": symbol = try value.symbol(field: key)
            case "side": side = try value.choice(OrderSide.self, field: key)
            case "orderType": type = try value.choice(OrderType.self, field: key)
            case "timeInForce": timeInForce = try value.choice(TimeInForce.self, field: key)
            case "quantity": quantity = try value.quantity(field: key)
            case "price": price = try value.price(field: key)
            default: clientOrderId = try value.clientOrderId(field: key)
            }
        }

        static let names: Set<String> = ["symbol", "side", "orderType", "timeInForce", "quantity", "price", "clientOrderId"]

        func request() throws(OrderRejection) -> OrderRequest {
            guard let symbol else { throw OrderRejection(.missingField, field: "symbol", "symbol is required") }
            guard let side else { throw OrderRejection(.missingField, field: "side", "side is required (BUY or SELL)") }
            guard let type else { throw OrderRejection(.missingField, field: "orderType", "orderType is required (LIMIT or MARKET)") }
            guard let quantity else { throw OrderRejection(.missingField, field: "quantity", "quantity is required (whole shares)") }
            switch type {
            case .limit where price == nil: throw OrderRejection(.priceRequired, field: "price", "a LIMIT order needs a price")
            case .market where price != nil: throw OrderRejection(.priceNotAllowed, field: "price", "a MARKET order takes no price")
            default: break
            }
            let terms = OrderTerms(symbol: symbol, side: side, type: type, timeInForce: timeInForce ?? .day, quantity: quantity, price: price)
            return OrderRequest(terms: terms, clientOrderId: clientOrderId)
        }
    }

    /// One field's value as written: a string's bytes (no escapes), a number's text, or another kind.
    enum Token {
        case string(String)
        case number(String)
        case other(String)

        static func read(from s: inout JSONScanner, field: String) throws(OrderRejection) -> Token {
            s.skipWhitespace()
            guard s.i < s.b.count else { throw OrderRejection(.malformedBody, field: field, "\(field) has no value") }
            let start = s.i
            let first = s.b[start]
            do {
                if first == UInt8(ascii: "\"") {
                    guard let range = try s.string(field: field) else { return .other("null") }
                    let bytes = s.b[range]
                    guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                        throw OrderRejection(.invalidValue, field: field, "\(field) must be plain ASCII text")
                    }
                    return .string(String(decoding: bytes, as: UTF8.self))
                }
                try s.skipValue(depth: 0)
            } catch let error as OrderRejection {
                throw error
            } catch {
                throw OrderRejection(.malformedBody, field: field, "\(field): \(error)")
            }
            let text = String(decoding: s.b[start..<s.i], as: UTF8.self)
            if first == UInt8(ascii: "-") || (0x30...0x39).contains(first) { return .number(text) }
            let kind = switch first {
            case UInt8(ascii: "{"): "an object"
            case UInt8(ascii: "["): "an array"
            case UInt8(ascii: "n"): "null"
            default: "a boolean"
            }
            return .other(kind)
        }

        func text(field: String, expected: String) throws(OrderRejection) -> String {
            switch self {
            case .string(let text): return text
            case .number(let text): throw OrderRejection(.invalidType, field: field, "\(field) must be \(expected), not the number \(text)")
            case .other(let kind): throw OrderRejection(.invalidType, field: field, "\(field) must be \(expected), not \(kind)")
            }
        }

        func symbol(field: String) throws(OrderRejection) -> String {
            let text = try text(field: field, expected: "a symbol such as \"GARAN\"")
            guard SymbolTable.isValid(text) else {
                throw OrderRejection(.unknownSymbol, field: field, "\(Sanitized(text)) is not a symbol (such as GARAN or GARAN.E)")
            }
            return text
        }

        func choice<T: RawRepresentable & CaseIterable>(_: T.Type, field: String) throws(OrderRejection) -> T where T.RawValue == String {
            let allowed = T.allCases.map(\.rawValue).joined(separator: " or ")
            let text = try text(field: field, expected: allowed)
            guard let value = T(rawValue: text) else {
                throw OrderRejection(.invalidValue, field: field, "\(field) must be \(allowed), not \(Sanitized(text))")
            }
            return value
        }

        /// A number's text, written as a JSON number or a string, in plain decimal form.
        func decimalText(field: String) throws(OrderRejection) -> String {
            let text: String
            switch self {
            case .string(let t), .number(let t): text = t
            case .other(let kind): throw OrderRejection(.invalidType, field: field, "\(field) must be a number, not \(kind)")
            }
            var digits = 0
            var points = 0
            for (i, c) in text.utf8.enumerated() {
                if (0x30...0x39).contains(c) { digits += 1; continue }
                if c == UInt8(ascii: ".") && digits > 0 && points == 0 { points += 1; continue }
                if c == UInt8(ascii: "-") && i == 0 { continue }
                let why = c == UInt8(ascii: "e") || c == UInt8(ascii: "E") ? "an exponent is not accepted" : "it is not a plain decimal"
                throw OrderRejection(.invalidNumber, field: field, "\(field) \(Sanitized(text)): \(why); write it as e.g. 15.75")
            }
            guard digits > 0, text.utf8.last != UInt8(ascii: ".") else {
                throw OrderRejection(.invalidNumber, field: field, "\(field) \(Sanitized(text)) is not a number")
            }
            return text
        }

        func quantity(field: String) throws(OrderRejection) -> Int64 {
            var text = try decimalText(field: field)
            let parsed = text.withUTF8 { ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: 0) }
            switch parsed {
            case .success(let shares) where shares > 0: return shares
            case .success: throw OrderRejection(.quantityNotPositive, field: field, "\(field) must be at least 1 share, not \(text)")
            case .failure(.tooManyDecimals):
                throw OrderRejection(.quantityNotWhole, field: field, "\(field) must be whole shares (1 lot = 1 share), not \(Sanitized(text))")
            case .failure(.overflow) where text.hasPrefix("-"):
                throw OrderRejection(.quantityNotPositive, field: field, "\(field) must be at least 1 share, not \(Sanitized(text))")
            case .failure(.overflow):
                throw OrderRejection(.quantityAboveMaximum, field: field, "\(field) \(Sanitized(text)) is out of range")
            case .failure(.notANumber): throw OrderRejection(.invalidNumber, field: field, "\(field) \(Sanitized(text)) is not a number")
            }
        }

        func price(field: String) throws(OrderRejection) -> Price {
            var text = try decimalText(field: field)
            let parsed = text.withUTF8 { ScaledDecimal.parse(UnsafeRawBufferPointer($0), scale: Price.scale) }
            switch parsed {
            case .success(let units) where units > 0: return Price(units: units)
            case .success: throw OrderRejection(.priceNotPositive, field: field, "\(field) must be positive, not \(text)")
            case .failure(.tooManyDecimals):
                throw OrderRejection(.priceTooPrecise, field: field, "\(field) \(Sanitized(text)) has more than \(Price.scale) decimal places")
            case .failure(.overflow) where text.hasPrefix("-"):
                throw OrderRejection(.priceNotPositive, field: field, "\(field) must be positive, not \(Sanitized(text))")
            case .failure(.overflow): throw OrderRejection(.priceAboveLimit, field: field, "\(field) \(Sanitized(text)) is out of range")
            case .failure(.notANumber): throw OrderRejection(.invalidNumber, field: field, "\(field) \(Sanitized(text)) is not a number")
            }
        }

        func clientOrderId(field: String) throws(OrderRejection) -> String {
            let text = try text(field: field, expected: "a string")
            guard (1...OrderRequest.clientOrderIdMaximumLength).contains(text.utf8.count),
                  text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                      || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") })
            else {
                throw OrderRejection(.invalidValue, field: field,
                                     "\(field) must be 1 to \(OrderRequest.clientOrderIdMaximumLength) letters, digits or -_.: (got \(Sanitized(text)))")
            }
            return text
        }
    }
}
