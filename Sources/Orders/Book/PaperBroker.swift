/// The paper broker: accepts every DAY limit order that passed the rules; its matching on the
/// live feed is still being built (issue 31), so an order that must fill at once (IOC, FOK, any
/// MARKET order) is refused rather than left working against its own terms.
public struct PaperBroker: Broker {
    public let name = "paper"

    public init() {}

    public func submit(_ order: OrderRecord) async throws -> BrokerAnswer {
        let terms = order.terms
        guard terms.type == .limit && terms.timeInForce == .day else {
            return .refused(reason: "the paper broker does not fill \(terms.type.rawValue) \(terms.timeInForce.rawValue) orders yet: only DAY limit orders rest")
        }
        return .accepted(brokerOrderId: "PAPER-" + order.id.lowercased)
    }
}
