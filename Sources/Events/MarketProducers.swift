import Ingest
import Store

/// The market's events. They are written by the store writer or by services beside it, never by
/// the pipeline thread, and never one per tick.
public enum MarketProducers {
    /// The key of market-wide events (a batch of many symbols, the session).
    public static let marketKey = "BIST"

    /// MarketDataReceived, one per stored batch: how many ticks (and trades), of which symbols,
    /// over which exchange times, and each feed's sequence range. `source` names the feeds.
    public static func dataReceived(_ s: BatchSummary, feedNames: [UInt16: String], at time: Int64 = Clock.wallNanos()) -> Event {
        Event(.marketDataReceived, key: marketKey, data: [
            ("batch", .integer(s.batch)),
            ("ticks", .integer(Int64(s.ticks))),
            ("trades", .integer(Int64(s.trades))),
            ("from", .string(UTCTime.formatISO8601(s.from))),
            ("to", .string(UTCTime.formatISO8601(s.to))),
            ("source", .string(s.feeds.map { feedNames[$0.feed] ?? "feed \($0.feed)" }.joined(separator: ","))),
            ("feeds", .array(s.feeds.map { .object([("feed", .integer(Int64($0.feed))), ("firstSeq", .integer(Int64(bitPattern: $0.firstSequence))),
                                                    ("lastSeq", .integer(Int64(bitPattern: $0.lastSequence)))]) })),
            ("symbols", .array(s.symbols.map { .object([("symbol", .string($0.name)), ("ticks", .integer(Int64($0.ticks)))]) })),
        ], time: time)
    }
}

extension OutboxEvent {
    /// The event as the store writer appends it in a batch's transaction.
    public init(_ event: Event) {
        self.init(topic: event.type.topic.rawValue, id: event.id, type: event.type.rawValue, key: event.key, time: event.time,
                  envelope: event.envelope)
    }
}
