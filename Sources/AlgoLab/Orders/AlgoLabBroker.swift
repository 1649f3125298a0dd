import Ingest

/// AlgoLab as a broker: place, modify and cancel equity orders, and read back the day's orders
/// and the holdings to reconcile after a reconnect or restart. Every call goes through the
/// client's queue (one request a second) and uses the live session; a call refused as expired
/// marks the session dead. Errors are typed (`AlgoLabError`): 429 and 5xx are retryable, AlgoLab's
/// refusals carry its own words. Execution updates arrive as `O` messages on the feed
/// (`AlgoLabOrderUpdates`).
public struct AlgoLabBroker: Sendable {
    public let keeper: AlgoLabSessionKeeper

    public init(keeper: AlgoLabSessionKeeper) { self.keeper = keeper }

    /// What `SendOrder` said: the order id and AlgoLab's text.
    public struct Placed: Sendable, Equatable {
        public var reference: String
        public var message: String
    }

    public func place(_ order: AlgoLabOrderRequest) async throws(AlgoLabError) -> Placed {
        guard order.shares > 0 else { throw .configuration("an order needs at least one share") }
        if case .limit(let p) = order.pricing, p.units <= 0 { throw .configuration("a limit order needs a positive price") }
        let text = try await session { try await keeper.client.call(order.request, authorization: $0, expecting: String.self) }
        guard let reference = AlgoLabOrderReference.parse(text) else { throw .badReply("no order id in \(AlgoLabReply.preview(Array(text.utf8)))") }
        return Placed(reference: reference, message: text)
    }

    /// Changes a waiting order's price (its shares stay: AlgoLab's `lot` "0").
    public func modify(reference: String, price: Price, subAccount: String = "") async throws(AlgoLabError) -> String {
        let request = AlgoLabRequest("ModifyOrder", ["id": .string(reference), "price": .string("\(price)"), "lot": .string("0"),
                                                     "viop": .bool(false), "subAccount": .string(subAccount)])
        return try await session { try await keeper.client.call(request, authorization: $0, expecting: Outcome.self).text }
    }

    public func cancel(reference: String, subAccount: String = "") async throws(AlgoLabError) -> String {
        let request = AlgoLabRequest("DeleteOrder", ["id": .string(reference), "subAccount": .string(subAccount)])
        return try await session { try await keeper.client.call(request, authorization: $0, expecting: Outcome.self).text }
    }

    /// The day's orders (`TodaysTransaction`).
    public func todaysOrders() async throws(AlgoLabError) -> [AlgoLabTransaction] {
        try await session { try await keeper.client.call(AlgoLabRequest("TodaysTransaction"), authorization: $0, expecting: [AlgoLabTransaction].self) }
    }

    /// The holdings now (`InstantPosition`).
    public func positions(subAccount: String = "") async throws(AlgoLabError) -> [AlgoLabPosition] {
        try await session {
            try await keeper.client.call(AlgoLabRequest("InstantPosition", ["Subaccount": .string(subAccount)]), authorization: $0,
                                         expecting: [AlgoLabPosition].self)
        }
    }

    public func equityInfo(_ symbol: String) async throws(AlgoLabError) -> AlgoLabEquityInfo {
        try await session {
            try await keeper.client.call(AlgoLabRequest("GetEquityInfo", ["symbol": .string(symbol)]), authorization: $0, expecting: AlgoLabEquityInfo.self)
        }
    }

    /// After a reconnect or a restart: the day's orders and the holdings, to set against what
    /// was known (an order placed just before the drop shows up here with its fills).
    public func reconcile() async throws(AlgoLabError) -> (orders: [AlgoLabTransaction], positions: [AlgoLabPosition]) {
        (try await todaysOrders(), try await positions())
    }

    private func session<T>(_ call: (String) async throws -> T) async throws(AlgoLabError) -> T {
        guard let hash = keeper.authorization else { throw .noSession }
        do {
            return try await call(hash)
        } catch {
            // The client throws only AlgoLabError.
            let failure = error as? AlgoLabError ?? .transport("\(error)")
            if case .sessionExpired(let why) = failure { keeper.expired(hash, why) }
            throw failure
        }
    }

    /// A reply's content for a change: AlgoLab's text, whether a string or `{"message":…}`.
    struct Outcome: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) { text = s; return }
            let fields = try [String: LenientText].init(from: decoder)
            text = fields["message"]?.text ?? ""
        }
    }
}
