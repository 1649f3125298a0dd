/// What one thread derives from each symbol's name (its UTF-8 bytes, its JSON text), by id: made
/// for the ids the universe has, and for the ids that join it when the first of them is asked for
/// (the id was given out before any tick carrying it was handed over, so its name is there).
public struct SymbolNames<Value> {
    public let universe: SymbolUniverse
    private let make: @Sendable (String) -> Value
    /// By id.
    public private(set) var all: [Value]

    public init(_ universe: SymbolUniverse, _ make: @escaping @Sendable (String) -> Value) {
        self.universe = universe
        self.make = make
        all = universe.names(from: 0).map(make)
    }

    @inline(__always)
    public mutating func value(of id: SymbolID) -> Value {
        if Int(id.rawValue) >= all.count { learn() }
        return all[Int(id.rawValue)]
    }

    /// Takes in the symbols that joined since.
    public mutating func learn() {
        if all.count < universe.count { all += universe.names(from: all.count).map(make) }
    }
}

extension SymbolNames: Sendable where Value: Sendable {}
