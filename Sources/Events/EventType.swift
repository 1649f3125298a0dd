/// Every kind of event, with its topic and what partitions it (the key events of one user, or
/// one symbol, keep their order by).
public enum EventType: String, CaseIterable, Sendable {
    case userRegistered = "UserRegistered"
    case userEmailVerified = "UserEmailVerified"
    case userLoggedIn = "UserLoggedIn"
    case userLoginFailed = "UserLoginFailed"
    case userProfileUpdated = "UserProfileUpdated"
    case orderCreated = "OrderCreated"
    case orderSubmitted = "OrderSubmitted"
    case orderRejected = "OrderRejected"
    case partialExecution = "PartialExecution"
    case orderFilled = "OrderFilled"
    case orderCancelled = "OrderCancelled"
    case orderExpired = "OrderExpired"
    case settlementCompleted = "SettlementCompleted"
    /// Paper cash put into or taken out of a trading account (`akis accounts`): with the order
    /// events, what rebuilds every balance.
    case cashDeposited = "CashDeposited"
    case cashWithdrawn = "CashWithdrawn"
    case marketDataReceived = "MarketDataReceived"
    case candleClosed = "CandleClosed"
    case priceAlertTriggered = "PriceAlertTriggered"
    case tradingSessionChanged = "TradingSessionChanged"

    public enum PartitionKey: Sendable {
        /// The user's id.
        case user
        /// The symbol (the market-wide session events use "BIST").
        case symbol
    }

    public var topic: Topic {
        switch self {
        case .userRegistered, .userEmailVerified, .userProfileUpdated: .user
        // Log-ins and failed log-ins are security events: kept ten years.
        case .userLoggedIn, .userLoginFailed: .audit
        case .orderCreated, .orderSubmitted, .orderRejected, .partialExecution, .orderFilled, .orderCancelled, .orderExpired,
             .settlementCompleted, .cashDeposited, .cashWithdrawn: .trading
        case .marketDataReceived, .candleClosed, .tradingSessionChanged: .market
        case .priceAlertTriggered: .notification
        }
    }

    public var partitionKey: PartitionKey {
        switch self {
        case .marketDataReceived, .candleClosed, .tradingSessionChanged: .symbol
        default: .user
        }
    }
}
