import Synchronization

/// The daemon's symbols while it runs: the `SymbolTable` it started with, grown by the instruments
/// an exchange feed announces (`[market] symbols_from_exchange`), one process-wide id space.
///
/// Ids are dense and only ever added, so any earlier copy of the table is a prefix of a later one:
/// a thread keeps its own copy (or arrays indexed by id) and refreshes it only when it meets an id
/// beyond it. The tick that carries a new id is pushed through a ring after the id was added, so
/// the refresh always finds it.
///
/// Names the store's spool brings back from an earlier run (`recall`) get ids here too, so no id
/// means two symbols, but they are not ingested: `id(for:)` does not find them, and subscriptions
/// and queries refuse them as unknown, until an exchange announces them.
public final class SymbolUniverse: Sendable {
    /// The most symbols one daemon takes (a directory announcing more is refused beyond it).
    public static let standardLimit = 16_384

    private struct State {
        var table: SymbolTable
        /// Recalled names that have not joined.
        var recalled: Set<SymbolID> = []
    }

    private let state: Mutex<State>
    private let size: Atomic<Int>
    /// The most ingested symbols `join` allows (recalled names count once they join).
    public let limit: Int

    public init(_ table: SymbolTable, limit: Int = SymbolUniverse.standardLimit) {
        state = Mutex(State(table: table))
        size = Atomic(table.count)
        self.limit = max(limit, table.count)
    }

    /// The number of ids given out (ingested and recalled).
    public var count: Int { size.load(ordering: .acquiring) }

    /// The number of ingested symbols (recalled names left out).
    public var ingestedCount: Int { state.withLock { $0.table.count - $0.recalled.count } }

    /// A copy of the table as it stands (recalled names included: it maps every id to its name).
    public var table: SymbolTable { state.withLock { $0.table } }

    /// The id of an ingested symbol; nil for an unknown or only recalled one.
    public func id(for name: String) -> SymbolID? {
        state.withLock { s in s.table.id(for: name).flatMap { s.recalled.contains($0) ? nil : $0 } }
    }

    public func name(of id: SymbolID) -> String { state.withLock { $0.table.name(of: id) } }

    /// The names of ids `from` and up, in id order.
    public func names(from: Int) -> [String] {
        state.withLock { s in from < s.table.count ? Array(s.table.allNames[from...]) : [] }
    }

    /// The ingested symbols' names, in id order.
    public var ingestedNames: [(id: SymbolID, name: String)] {
        state.withLock { s in
            s.table.allNames.enumerated().compactMap { i, name in
                let id = SymbolID(UInt32(i))
                return s.recalled.contains(id) ? nil : (id, name)
            }
        }
    }

    /// Adds `name` to the ingested symbols and returns its id, and whether it is new to them.
    /// `tooManySymbols` once `limit` symbols are ingested.
    @discardableResult
    public func join(_ name: String) throws(SymbolError) -> (id: SymbolID, isNew: Bool) {
        try state.withLock { (s) throws(SymbolError) -> (id: SymbolID, isNew: Bool) in
            guard SymbolTable.isValid(name) else { throw .invalidFormat(name) }
            let known = s.table.id(for: name)
            if let id = known, !s.recalled.contains(id) { return (id, false) }
            guard s.table.count - s.recalled.count < limit else { throw .tooManySymbols }
            if let id = known {
                s.recalled.remove(id)
                return (id, true)
            }
            let id = try s.table.intern(name)
            size.store(s.table.count, ordering: .releasing)
            return (id, true)
        }
    }

    /// An id for a name only stored data mentions (the spool's earlier runs); it is not ingested.
    public func recall(_ name: String) throws(SymbolError) -> SymbolID {
        try state.withLock { (s) throws(SymbolError) -> SymbolID in
            if let id = s.table.id(for: name) { return id }
            let id = try s.table.intern(name)
            s.recalled.insert(id)
            size.store(s.table.count, ordering: .releasing)
            return id
        }
    }
}
