/// Where orders go: the paper broker here, AlgoLab in the routing issue.
public protocol Broker: Sendable {
    /// Names the broker in `trading_orders.broker` and the executions' keys.
    var name: String { get }
    /// Sends a recorded order; throws when the outcome is unknown (the order stays PENDING_NEW
    /// and is resolved at start).
    func submit(_ order: OrderRecord) async throws -> BrokerAnswer
}

/// A broker's definite answer to an order.
public enum BrokerAnswer: Hashable, Sendable {
    case accepted(brokerOrderId: String)
    case refused(reason: String)
}
