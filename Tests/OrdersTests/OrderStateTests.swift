import Ingest
import Testing

@testable import Orders

@Suite struct OrderStateTests {
    static let terms = OrderTerms(symbol: "GARAN", side: .buy, type: .limit, quantity: 100, price: Price("100.10"))

    static func fill(_ id: String, _ quantity: Int64, at price: String = "100.10") -> OrderChange {
        .executed(Execution(id: id, quantity: quantity, price: Price(price)!, time: 0))
    }

    /// An order brought to each status by a path of legal changes.
    static func order(in status: OrderStatus) throws -> OrderState {
        let paths: [OrderStatus: [OrderChange]] = [
            .pendingNew: [],
            .new: [.submitted(brokerOrderId: "B1")],
            .partiallyFilled: [.submitted(brokerOrderId: "B1"), fill("E1", 40)],
            .filled: [.submitted(brokerOrderId: "B1"), fill("E1", 100)],
            .rejected: [.rejected(reason: "no")],
            .pendingCancel: [.submitted(brokerOrderId: "B1"), .cancelRequested],
            .cancelled: [.submitted(brokerOrderId: "B1"), .cancelRequested, .cancelled(reason: "asked")],
            .pendingReplace: [.submitted(brokerOrderId: "B1"), .replaceRequested(price: Price("100.20"), quantity: 80)],
            .expired: [.submitted(brokerOrderId: "B1"), .expired],
        ]
        let state = try #require(try OrderState.replaying([.created(terms)] + paths[status]!))
        #expect(state.status == status)
        return state
    }

    /// One sample of each kind of change, legal wherever its kind is.
    static let samples: [OrderChange.Kind: OrderChange] = [
        .created: .created(terms), .submitted: .submitted(brokerOrderId: "B2"), .rejected: .rejected(reason: "r"),
        .executed: fill("E9", 10), .cancelRequested: .cancelRequested, .cancelRefused: .cancelRefused(reason: "late"),
        .cancelled: .cancelled(reason: "c"), .replaceRequested: .replaceRequested(price: Price("100.00"), quantity: nil),
        .replaced: .replaced, .replaceRefused: .replaceRefused(reason: "late"), .expired: .expired,
    ]

    /// The machine as docs/orders.md draws it: status × change → the status after, or "-" (refused).
    /// Columns: created submitted rejected executed cancelRequested cancelRefused cancelled
    /// replaceRequested replaced replaceRefused expired.
    static let expected: [OrderStatus: [String]] = [
        .pendingNew: ["-", "NEW", "REJECTED", "-", "-", "-", "-", "-", "-", "-", "-"],
        .new: ["-", "-", "-", "PARTIALLY_FILLED", "PENDING_CANCEL", "-", "CANCELLED", "PENDING_REPLACE", "-", "-", "EXPIRED"],
        .partiallyFilled: ["-", "-", "-", "PARTIALLY_FILLED", "PENDING_CANCEL", "-", "CANCELLED", "PENDING_REPLACE", "-", "-", "EXPIRED"],
        .pendingCancel: ["-", "-", "-", "PENDING_CANCEL", "-", "NEW", "CANCELLED", "-", "-", "-", "EXPIRED"],
        .pendingReplace: ["-", "-", "-", "PENDING_REPLACE", "-", "-", "CANCELLED", "-", "NEW", "NEW", "EXPIRED"],
        .filled: Array(repeating: "-", count: 11), .rejected: Array(repeating: "-", count: 11),
        .cancelled: Array(repeating: "-", count: 11), .expired: Array(repeating: "-", count: 11),
    ]

    @Test(arguments: OrderStatus.allCases)
    func everyChangeInEveryStatusGoesWhereTheTableSays(status: OrderStatus) throws {
        let kinds: [OrderChange.Kind] = [.created, .submitted, .rejected, .executed, .cancelRequested, .cancelRefused, .cancelled,
                                         .replaceRequested, .replaced, .replaceRefused, .expired]
        #expect(Set(kinds) == Set(OrderChange.Kind.allCases))
        let order = try Self.order(in: status)
        for (kind, want) in zip(kinds, Self.expected[status]!) {
            let result = Result { () throws(IllegalTransition) in try order.applying(Self.samples[kind]!) }
            switch result {
            case .success(let next):
                #expect(next.status.rawValue == want, "\(status) + \(kind)")
                #expect(next.sequence == order.sequence + 1)
            case .failure(let refusal):
                #expect(want == "-", "\(status) + \(kind) was refused: \(refusal)")
                #expect(refusal.from == status && refusal.change == kind)
            }
        }
    }

    @Test func fillsAddUpAndTheLastOneFills() throws {
        var order = try Self.order(in: .new)
        order = try order.applying(Self.fill("E1", 30, at: "100.00"))
        #expect(order.status == .partiallyFilled && order.filledQuantity == 30 && order.remainingQuantity == 70)
        order = try order.applying(Self.fill("E2", 70, at: "100.10"))
        #expect(order.status == .filled)
        #expect(order.filledValue == Money(kurus: 30 * 100_00 + 70 * 100_10))
    }

    @Test func aFillIsAppliedOnceAndNeverOverfillsOrPassesTheLimit() throws {
        let order = try Self.order(in: .partiallyFilled)  // 40 of 100 filled by E1
        #expect(throws: IllegalTransition.self) { try order.applying(Self.fill("E1", 10)) }
        #expect(throws: IllegalTransition.self) { try order.applying(Self.fill("E2", 61)) }
        #expect(throws: IllegalTransition.self) { try order.applying(Self.fill("E3", 0)) }
        #expect(throws: IllegalTransition.self) { try order.applying(Self.fill("E4", 10, at: "100.20")) }  // a buy above its limit
        #expect(try order.applying(Self.fill("E2", 60)).status == .filled)
        #expect(try order.applying(Self.fill("E5", 10, at: "99.00")).filledQuantity == 50)  // better than the limit is fine
    }

    @Test func aFillWhileACancelIsPendingCountsAndTheRefusedCancelPutsBackTheWorkingStatus() throws {
        var order = try Self.order(in: .pendingCancel)
        order = try order.applying(Self.fill("E1", 20))
        #expect(order.status == .pendingCancel && order.filledQuantity == 20)
        let refused = try order.applying(.cancelRefused(reason: "too late"))
        #expect(refused.status == .partiallyFilled && refused.reason == "too late")
        // A fill that completes the order ends it: the cancel's answer has nothing left to act on.
        let filled = try order.applying(Self.fill("E2", 80))
        #expect(filled.status == .filled)
        #expect(throws: IllegalTransition.self) { try filled.applying(.cancelled(reason: "late confirmation")) }
    }

    @Test func anAmendmentLowersTheQuantityOrMovesThePriceOnlyWhenItStillCan() throws {
        let order = try Self.order(in: .partiallyFilled)  // 40 of 100 filled
        #expect(throws: IllegalTransition.self) { try order.applying(.replaceRequested(price: nil, quantity: 120)) }
        #expect(throws: IllegalTransition.self) { try order.applying(.replaceRequested(price: nil, quantity: 40)) }
        #expect(throws: IllegalTransition.self) { try order.applying(.replaceRequested(price: nil, quantity: nil)) }
        var pending = try order.applying(.replaceRequested(price: Price("100.00"), quantity: 60))
        #expect(pending.status == .pendingReplace && pending.terms.quantity == 100)
        let replaced = try pending.applying(.replaced)
        #expect(replaced.terms.quantity == 60 && replaced.terms.price == Price("100.00") && replaced.status == .partiallyFilled)
        // A fill while it was pending reached the new quantity: the amendment can no longer apply.
        pending = try pending.applying(Self.fill("E2", 20))
        #expect(throws: IllegalTransition.self) { try pending.applying(.replaced) }
        #expect(try pending.applying(.replaceRefused(reason: "filled meanwhile")).status == .partiallyFilled)
        let market = try #require(try OrderState.replaying([.created(OrderTerms(symbol: "GARAN", side: .sell, type: .market, timeInForce: .ioc,
                                                                                            quantity: 5, price: nil)),
                                                             .submitted(brokerOrderId: "B")]))
        #expect(throws: IllegalTransition.self) { try market.applying(.replaceRequested(price: Price("1"), quantity: nil)) }
    }

    @Test func aReplayMustStartWithTheOrdersCreation() throws {
        #expect(try OrderState.replaying([.submitted(brokerOrderId: "B")]) == nil)
        #expect(throws: IllegalTransition.self) { try OrderState.replaying([.created(Self.terms), .created(Self.terms)]) }
        #expect(OrderStatus.pendingNew.apiName == "PENDING" && OrderStatus.new.apiName == "SUBMITTED" && OrderStatus.filled.apiName == "FILLED")
    }
}
