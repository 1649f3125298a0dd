/// The paper broker: accepts every order that passed the rules (docs/orders.md, "How paper
/// orders fill", says how its orders fill on the live feed).
public struct PaperBroker: Broker {
    public let name = "paper"

    public init() {}

    public func submit(_ order: OrderRecord) async throws -> BrokerAnswer {
        .accepted(brokerOrderId: "PAPER-" + order.id.lowercased)
    }
}
