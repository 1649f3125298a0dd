import Ingest

/// Which clients want which symbols. A pure value owned by the fan-out thread: the per-symbol
/// lists make routing a tick one array read; the per-client sets make a disconnect cheap.
public struct SubscriptionTable: Sendable {
    public typealias ClientID = Int

    private var bySymbol: [[ClientID]]
    private var byClient: [ClientID: Set<SymbolID>] = [:]

    public init(symbolCount: Int) { bySymbol = Array(repeating: [], count: symbolCount) }

    /// The clients subscribed to `symbol`, in subscription order.
    public func subscribers(of symbol: SymbolID) -> [ClientID] {
        let i = Int(symbol.rawValue)
        return i < bySymbol.count ? bySymbol[i] : []
    }

    /// Whether anyone is subscribed to `symbol` (the test before encoding a message for it).
    public func hasSubscribers(_ symbol: SymbolID) -> Bool {
        let i = Int(symbol.rawValue)
        return i < bySymbol.count && !bySymbol[i].isEmpty
    }

    /// The symbols `client` is subscribed to.
    public func symbols(of client: ClientID) -> Set<SymbolID> { byClient[client] ?? [] }

    public var clientCount: Int { byClient.count }

    /// Subscribes `client` to `symbols`; subscribing twice is harmless.
    public mutating func subscribe(_ client: ClientID, to symbols: [SymbolID]) {
        var mine = byClient[client] ?? []
        if let highest = symbols.max(), Int(highest.rawValue) >= bySymbol.count {
            // A symbol that joined the universe after the table was made.
            bySymbol += Array(repeating: [], count: Int(highest.rawValue) + 1 - bySymbol.count)
        }
        for s in symbols where mine.insert(s).inserted {
            bySymbol[Int(s.rawValue)].append(client)
        }
        byClient[client] = mine
    }

    /// Unsubscribes `client` from `symbols` it holds; others are ignored.
    public mutating func unsubscribe(_ client: ClientID, from symbols: [SymbolID]) {
        guard var mine = byClient[client] else { return }
        for s in symbols where mine.remove(s) != nil {
            bySymbol[Int(s.rawValue)].removeAll { $0 == client }
        }
        byClient[client] = mine
    }

    /// Forgets `client` entirely (it disconnected).
    public mutating func remove(_ client: ClientID) {
        guard let mine = byClient.removeValue(forKey: client) else { return }
        for s in mine { bySymbol[Int(s.rawValue)].removeAll { $0 == client } }
    }
}
