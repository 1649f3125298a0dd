import Foundation
import Ingest

/// What a stored batch was, for the event it brings (MarketDataReceived): its ticks per symbol
/// and each feed's sequence range. Computed by the committer from the ticks it stored.
public struct BatchSummary: Sendable {
    public struct Feed: Sendable, Equatable {
        public var feed: UInt16
        public var firstSequence: UInt64
        public var lastSequence: UInt64
    }

    public var batch: Int64
    public var ticks: Int
    public var trades: Int
    /// Exchange times of the earliest and latest tick (nanoseconds, UTC).
    public var from: Int64
    public var to: Int64
    public var feeds: [Feed]
    /// Per symbol (name, ticks), by name.
    public var symbols: [(name: String, ticks: Int)]

    init?(batch: Int64, ticks: [Tick], skipping refused: Set<Int>, symbolName: (SymbolID) -> String) {
        var perSymbol: [SymbolID: Int] = [:]
        var feeds: [UInt16: Feed] = [:]
        var count = 0, trades = 0
        var from = Int64.max, to = Int64.min
        for (i, t) in ticks.enumerated() where !refused.contains(i) {
            count += 1
            if t.kind == .trade { trades += 1 }
            perSymbol[t.symbol, default: 0] += 1
            from = min(from, t.exchangeTime)
            to = max(to, t.exchangeTime)
            if t.sequence != 0 {
                var f = feeds[t.feed] ?? Feed(feed: t.feed, firstSequence: t.sequence, lastSequence: t.sequence)
                f.firstSequence = min(f.firstSequence, t.sequence)
                f.lastSequence = max(f.lastSequence, t.sequence)
                feeds[t.feed] = f
            }
        }
        guard count > 0 else { return nil }
        self.batch = batch
        self.ticks = count
        self.trades = trades
        self.from = from
        self.to = to
        self.feeds = feeds.values.sorted { $0.feed < $1.feed }
        symbols = perSymbol.map { (symbolName($0.key), $0.value) }.sorted { $0.0 < $1.0 }
    }
}

/// An event for the event store, appended in the stored batch's own transaction (through the
/// events schema's `akis_append_event`), so that it commits with the batch or not at all.
public struct OutboxEvent: Sendable {
    public var topic: String
    public var id: UUID
    public var type: String
    public var key: String
    public var time: Int64
    public var envelope: [UInt8]

    public init(topic: String, id: UUID, type: String, key: String, time: Int64, envelope: [UInt8]) {
        self.topic = topic
        self.id = id
        self.type = type
        self.key = key
        self.time = time
        self.envelope = envelope
    }
}
