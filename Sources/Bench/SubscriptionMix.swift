import Ingest

/// Which symbols each bench client subscribes to: `firehose` clients take every symbol, the rest
/// `symbolsPerClient` each, dealt round the universe so that every symbol is watched about as often.
public struct SubscriptionMix: Sendable, Equatable {
    /// A set of clients with the same kind of subscription; percentiles are reported per group.
    public struct Group: Sendable, Equatable {
        public var name: String
        /// Indexes into `clients`.
        public var members: Range<Int>
    }

    public let clients: [[SymbolID]]
    public let groups: [Group]

    public init(clients: Int, symbolsPerClient: Int, firehose: Int, symbolCount: Int) throws {
        guard clients >= 0 else { throw BenchError("--clients must be 0 or more, got \(clients)") }
        guard firehose >= 0 && firehose <= clients else {
            throw BenchError("--firehose must be between 0 and --clients (\(clients)): it is how many of the clients take every symbol; got \(firehose)")
        }
        guard symbolCount > 0 else { throw BenchError("the feed has no symbols") }
        guard symbolsPerClient >= 1 && symbolsPerClient <= symbolCount else {
            throw BenchError("--symbols-per-client must be between 1 and the feed's \(symbolCount) symbols, got \(symbolsPerClient)")
        }
        let all = (0..<symbolCount).map { SymbolID(UInt32($0)) }
        var list = Array(repeating: all, count: firehose)
        for j in 0..<(clients - firehose) {
            list.append((0..<symbolsPerClient).map { SymbolID(UInt32((j * symbolsPerClient + $0) % symbolCount)) })
        }
        self.clients = list
        var groups: [Group] = []
        if firehose > 0 { groups.append(Group(name: "firehose (\(symbolCount) symbols)", members: 0..<firehose)) }
        if clients > firehose {
            groups.append(Group(name: "\(symbolsPerClient) symbol\(symbolsPerClient == 1 ? "" : "s") each", members: firehose..<clients))
        }
        self.groups = groups
    }
}
