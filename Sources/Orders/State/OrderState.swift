import Ingest

/// An order as its events leave it: a pure value. `applying` is the one way it changes; a change
/// the order's state does not allow (a fill on a cancelled order, a second fill with the same
/// execution id, an overfill, a fill past the limit price) is refused with the reason, never applied.
public struct OrderState: Hashable, Sendable {
    public private(set) var terms: OrderTerms
    public private(set) var status: OrderStatus
    public private(set) var filledQuantity: Int64 = 0
    /// The sum of price × shares over the fills.
    public private(set) var filledValue: Money = .zero
    public private(set) var brokerOrderId: String?
    /// The amendment waiting for the broker's answer.
    public private(set) var pendingReplace: Replacement?
    /// Why it was rejected, cancelled, or a request refused, last.
    public private(set) var reason: String?
    /// How many changes made it (the `seq` of its updates): 1 after `created`.
    public private(set) var sequence: Int = 1
    public private(set) var executionIds: Set<String> = []

    /// An order just recorded.
    public init(created terms: OrderTerms) {
        self.terms = terms
        status = .pendingNew
    }

    /// An order as the read model stored it (commands start from it; `akis orders verify` checks it
    /// against the fold of the order's events).
    init(terms: OrderTerms, status: OrderStatus, filledQuantity: Int64, filledValue: Money, brokerOrderId: String?, reason: String?,
         sequence: Int, executionIds: Set<String> = []) {
        self.terms = terms
        self.status = status
        self.filledQuantity = filledQuantity
        self.filledValue = filledValue
        self.brokerOrderId = brokerOrderId
        self.reason = reason
        self.sequence = sequence
        self.executionIds = executionIds
    }

    /// The fold of an order's changes, from its `created`; nil when it does not start with one,
    /// or an error naming the first change its state refused.
    public static func replaying(_ changes: [OrderChange]) throws(IllegalTransition) -> OrderState? {
        guard case .created(let terms)? = changes.first else { return nil }
        var state = OrderState(created: terms)
        for change in changes.dropFirst() { state = try state.applying(change) }
        return state
    }

    public var remainingQuantity: Int64 { terms.quantity - filledQuantity }
    /// Working at the broker: it can still fill.
    public var isWorking: Bool { [.new, .partiallyFilled, .pendingCancel, .pendingReplace].contains(status) }
    /// The status a working order has when nothing is pending.
    var workingStatus: OrderStatus { filledQuantity > 0 ? .partiallyFilled : .new }

    /// Which changes each status takes; every other pair is refused.
    public static let transitions: [OrderStatus: Set<OrderChange.Kind>] = [
        .pendingNew: [.submitted, .rejected],
        .new: [.executed, .cancelRequested, .cancelled, .replaceRequested, .expired],
        .partiallyFilled: [.executed, .cancelRequested, .cancelled, .replaceRequested, .expired],
        .pendingCancel: [.executed, .cancelRefused, .cancelled, .expired],
        .pendingReplace: [.executed, .replaced, .replaceRefused, .cancelled, .expired],
        .filled: [], .rejected: [], .cancelled: [], .expired: [],
    ]

    /// The state after `change`, or why the order refuses it.
    public func applying(_ change: OrderChange) throws(IllegalTransition) -> OrderState {
        guard Self.transitions[status, default: []].contains(change.kind) else {
            throw IllegalTransition(from: status, change: change.kind, "\(change.kind.rawValue) is not allowed in \(status.rawValue)")
        }
        var next = self
        next.sequence += 1
        switch change {
        case .created:
            throw IllegalTransition(from: status, change: .created, "the order exists already")
        case .submitted(let brokerOrderId):
            next.brokerOrderId = brokerOrderId
            next.status = .new
        case .rejected(let reason):
            next.reason = reason
            next.status = .rejected
        case .executed(let execution):
            try next.fill(execution)
        case .cancelRequested:
            next.status = .pendingCancel
        case .cancelRefused(let reason), .replaceRefused(let reason):
            next.reason = reason
            next.pendingReplace = nil
            next.status = next.workingStatus
        case .cancelled(let reason):
            next.reason = reason
            next.pendingReplace = nil
            next.status = .cancelled
        case .replaceRequested(let price, let quantity):
            try next.checkReplacement(price: price, quantity: quantity)
            next.pendingReplace = Replacement(price: price, quantity: quantity)
            next.status = .pendingReplace
        case .replaced:
            guard let replacement = pendingReplace else { throw IllegalTransition(from: status, change: .replaced, "no amendment is pending") }
            // Fills while the amendment was pending can have reached its new quantity.
            try next.checkReplacement(price: replacement.price, quantity: replacement.quantity)
            if let price = replacement.price { next.terms.price = price }
            if let quantity = replacement.quantity { next.terms.quantity = quantity }
            next.pendingReplace = nil
            next.status = next.workingStatus
        case .expired:
            next.pendingReplace = nil
            next.status = .expired
        }
        return next
    }

    private mutating func fill(_ execution: Execution) throws(IllegalTransition) {
        func refuse(_ why: String) -> IllegalTransition { IllegalTransition(from: status, change: .executed, why) }
        guard !executionIds.contains(execution.id) else { throw refuse("execution \(Sanitized(execution.id)) is applied already") }
        guard execution.quantity > 0, execution.price.units > 0 else { throw refuse("a fill needs a positive quantity and price") }
        guard execution.quantity <= remainingQuantity else {
            throw refuse("a fill of \(execution.quantity) would overfill the order (\(remainingQuantity) of \(terms.quantity) left)")
        }
        if let limit = terms.price {
            let worse = terms.side == .buy ? execution.price > limit : execution.price < limit
            if worse { throw refuse("a fill at \(execution.price) is past the limit \(limit)") }
        }
        guard let value = Money.value(of: execution.quantity, at: execution.price) else { throw refuse("the fill's value is out of range") }
        executionIds.insert(execution.id)
        filledQuantity += execution.quantity
        filledValue += value
        if filledQuantity == terms.quantity {
            pendingReplace = nil
            status = .filled
        } else if status == .new {
            status = .partiallyFilled
        }
    }

    private func checkReplacement(price: Price?, quantity: Int64?) throws(IllegalTransition) {
        func refuse(_ why: String) -> IllegalTransition { IllegalTransition(from: status, change: .replaceRequested, why) }
        if price == nil && quantity == nil { throw refuse("an amendment changes the price, the quantity or both") }
        if price != nil && terms.type == .market { throw refuse("a MARKET order has no price to change") }
        if let quantity {
            guard quantity <= terms.quantity else { throw refuse("the quantity can only be lowered (from \(terms.quantity) to \(quantity))") }
            guard quantity > filledQuantity else { throw refuse("\(quantity) is not above the \(filledQuantity) shares already filled") }
        }
    }
}

/// An amendment: a new price and/or a lower quantity (nil: unchanged).
public struct Replacement: Hashable, Sendable {
    public var price: Price?
    public var quantity: Int64?

    public init(price: Price?, quantity: Int64?) {
        self.price = price
        self.quantity = quantity
    }
}

/// A change an order's state refused: logged, never applied.
public struct IllegalTransition: Error, Hashable, Sendable, CustomStringConvertible {
    public let from: OrderStatus
    public let change: OrderChange.Kind
    public let reason: String

    public init(from: OrderStatus, change: OrderChange.Kind, _ reason: String) {
        self.from = from
        self.change = change
        self.reason = reason
    }

    public var description: String { "\(change.rawValue) refused in \(from.rawValue): \(reason)" }
}
