/// Why a request about an order was refused: a stable `code` for programs, the `field` it is
/// about, and a message for people. Nothing is stored for a refused request.
public struct OrderRejection: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case malformedBody = "malformed_body"
        case bodyTooLarge = "body_too_large"
        case unknownField = "unknown_field"
        case duplicateField = "duplicate_field"
        case missingField = "missing_field"
        case invalidType = "invalid_type"
        case invalidNumber = "invalid_number"
        case invalidValue = "invalid_value"
        case unknownSymbol = "unknown_symbol"
        case quantityNotPositive = "quantity_not_positive"
        case quantityNotWhole = "quantity_not_whole"
        case quantityAboveMaximum = "quantity_above_maximum"
        case priceRequired = "price_required"
        case priceNotAllowed = "price_not_allowed"
        case priceNotPositive = "price_not_positive"
        case priceTooPrecise = "price_too_precise"
        case priceOffStep = "price_off_step"
        case priceAboveLimit = "price_above_limit"
        case priceBelowLimit = "price_below_limit"
        case noPriceLimits = "no_price_limits"
        case marketRequiresIOC = "market_requires_ioc"
        case marketClosed = "market_closed"
        case notAllowedInPhase = "not_allowed_in_phase"
        case orderValueAboveMaximum = "order_value_above_maximum"
        case tooManyOpenOrders = "too_many_open_orders"
        case insufficientBuyingPower = "insufficient_buying_power"
        case insufficientShares = "insufficient_shares"
        case noAccount = "no_account"
        case rateLimited = "rate_limited"
        case clientOrderIdReused = "client_order_id_reused"
        case notFound = "not_found"
        case notWorking = "order_not_working"
        case quantityNotLower = "quantity_not_lower"
        case quantityAtOrBelowFilled = "quantity_at_or_below_filled"
        case nothingToChange = "nothing_to_change"
    }

    public let code: Code
    /// The request field the rule is about (nil: the request as a whole).
    public let field: String?
    public let message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The HTTP status that answers it.
    public var httpStatus: Int {
        switch code {
        case .notFound: 404
        case .noAccount: 403
        case .clientOrderIdReused, .notWorking: 409
        case .bodyTooLarge: 413
        case .rateLimited: 429
        default: 400
        }
    }

    public var description: String { field.map { "\(code.rawValue) (\($0)): \(message)" } ?? "\(code.rawValue): \(message)" }
}
