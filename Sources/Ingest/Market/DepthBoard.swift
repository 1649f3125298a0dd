import Atomics
import Synchronization

/// The best levels of one instrument's book at a moment (an exchange feed's order book).
public struct DepthSnapshot: Sendable, Equatable {
    public struct Level: Sendable, Equatable {
        public var price: Price
        public var quantity: Int64
        public var orders: Int
        public init(price: Price, quantity: Int64, orders: Int) {
            self.price = price
            self.quantity = quantity
            self.orders = orders
        }
    }

    public var symbol: SymbolID
    /// Exchange time of the last change it includes, UTC ns.
    public var time: Int64
    /// Best first: bids by falling price, asks by rising price.
    public var bids: [Level]
    public var asks: [Level]

    public init(symbol: SymbolID, time: Int64, bids: [Level], asks: [Level]) {
        self.symbol = symbol
        self.time = time
        self.bids = bids
        self.asks = asks
    }
}

/// The latest depth of every symbol: exchange feeds' readers publish into it (each instrument at
/// most every depth interval, when its book changed); the fan-out sends what changed to clients
/// that asked for depth, and the store writer looks up the depth as of each stored snapshot's time
/// in the short history kept per symbol.
///
/// A lock guards it: readers publish a few times a second per instrument, never per message.
public final class DepthBoard: Sendable {
    private struct State {
        var latest: [DepthSnapshot?]
        /// Per symbol: the last few snapshots, oldest first.
        var history: [[DepthSnapshot]]
        /// The board's version when each symbol last changed.
        var changedAt: [UInt64]
        var version: UInt64 = 0
    }

    /// Snapshots kept per symbol for `depth(of:asOf:)`.
    public let historyLength: Int
    /// Advances on every publication (readable without the lock).
    public let version = ManagedAtomic<UInt64>(0)
    private let state: Mutex<State>

    public init(symbolCount: Int, historyLength: Int = 64) {
        self.historyLength = historyLength
        state = Mutex(State(latest: Array(repeating: nil, count: symbolCount), history: Array(repeating: [], count: symbolCount),
                            changedAt: Array(repeating: 0, count: symbolCount)))
    }

    public func publish(_ snapshot: DepthSnapshot) {
        let i = Int(snapshot.symbol.rawValue)
        state.withLock { s in
            if i >= s.latest.count {
                // A symbol that joined the universe after the board was made.
                let more = i + 1 - s.latest.count
                s.latest += Array(repeating: nil, count: more)
                s.history += Array(repeating: [], count: more)
                s.changedAt += Array(repeating: 0, count: more)
            }
            s.version += 1
            s.latest[i] = snapshot
            s.changedAt[i] = s.version
            if s.history[i].count == historyLength { s.history[i].removeFirst() }
            s.history[i].append(snapshot)
            version.store(s.version, ordering: .releasing)
        }
    }

    /// The latest depth of `symbol`, if any was published.
    public func latest(_ symbol: SymbolID) -> DepthSnapshot? {
        state.withLock { s in Int(symbol.rawValue) < s.latest.count ? s.latest[Int(symbol.rawValue)] : nil }
    }

    /// The symbols' latest depth published after `version`, and the board's version now.
    public func changed(since version: UInt64) -> (version: UInt64, snapshots: [DepthSnapshot]) {
        state.withLock { s in
            var out: [DepthSnapshot] = []
            for (i, at) in s.changedAt.enumerated() where at > version { if let d = s.latest[i] { out.append(d) } }
            return (s.version, out)
        }
    }

    /// The last depth of `symbol` published with a time at or before `time`; nil when none is
    /// kept (none published, or all kept are later).
    public func depth(of symbol: SymbolID, asOf time: Int64) -> DepthSnapshot? {
        state.withLock { s in
            guard Int(symbol.rawValue) < s.history.count else { return nil }
            return s.history[Int(symbol.rawValue)].last { $0.time <= time }
        }
    }
}
