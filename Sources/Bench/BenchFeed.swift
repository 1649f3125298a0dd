import Ingest

/// The ticks a bench sends, in order, each with its send time as an offset from the start.
///
/// Sequence numbers are renumbered from `firstSequence` so that they rise across runs against the
/// same daemon (its sequence tracker drops anything at or below what it has seen). `previousOfSymbol`
/// lets a subscriber tell a gap from a tick it was never meant to see: for tick `i`, the index of
/// the tick before it with the same symbol, or -1.
public final class BenchFeed: Sendable {
    public let symbols: SymbolTable
    /// Ticks in send order; `exchangeTime` holds the offset from the start in nanoseconds (the
    /// sender stamps the wall-clock time it schedules each one for).
    public let ticks: [Tick]
    public let previousOfSymbol: [Int32]
    /// Ticks per symbol, indexed by `SymbolID.rawValue`.
    public let ticksPerSymbol: [Int]
    public let firstSequence: UInt64

    /// Offset of the last tick: how long sending takes when nothing stalls.
    public var spanNanos: Int64 { ticks.last?.exchangeTime ?? 0 }

    /// `ticks` with their exchange times taken as the schedule: made relative to the first and
    /// divided by `speed`. (A class: subscribers on several threads read it for every message.)
    public init(symbols: SymbolTable, ticks source: some Sequence<Tick>, speed: Double = 1, firstSequence: UInt64) {
        var ticks: [Tick] = []
        ticks.reserveCapacity(source.underestimatedCount)
        var previous: [Int32] = []
        previous.reserveCapacity(source.underestimatedCount)
        var last = [Int32](repeating: -1, count: symbols.count)
        var counts = [Int](repeating: 0, count: symbols.count)
        var origin: Int64?
        for var tick in source {
            let start = origin ?? tick.exchangeTime
            origin = start
            tick.exchangeTime = max(0, Int64(Double(tick.exchangeTime - start) / speed))
            tick.receiveTime = 0
            tick.sequence = firstSequence + UInt64(ticks.count)
            tick.feed = 0
            let s = Int(tick.symbol.rawValue)
            previous.append(last[s])
            last[s] = Int32(ticks.count)
            counts[s] += 1
            ticks.append(tick)
        }
        self.symbols = symbols
        self.ticks = ticks
        self.previousOfSymbol = previous
        self.ticksPerSymbol = counts
        self.firstSequence = firstSequence
    }

    /// A synthetic feed (`SyntheticFeed`): Poisson arrivals at `rate` ticks/s for `duration` s over
    /// the first `symbolCount` BIST-30 symbols.
    public static func synthetic(rate: Double, duration: Double, symbolCount: Int, seed: UInt64 = 7, firstSequence: UInt64) throws -> BenchFeed {
        let feed = try SyntheticFeed(.init(symbolCount: symbolCount, rate: rate, duration: duration, seed: seed))
        return BenchFeed(symbols: feed.symbols, ticks: feed, firstSequence: firstSequence)
    }

    /// The ticks of a recording (binary frames, JSON lines or BIST ITCH packets), paced by their
    /// exchange times, over the BIST-30 and any other symbol the recording's binary frames name
    /// (an imported ITCH 5.0 day has its own). Frames the daemon would reject are counted in
    /// `rejected` and left out.
    public static func recording(path: String, speed: Double, firstSequence: UInt64) throws -> (feed: BenchFeed, rejected: UInt64) {
        var symbols = try SymbolTable(BISTMarket.bist30)
        let reader = try RecordingReader(path: path)
        if reader.header.payload == .binary {
            // A frame split between records is missed (its symbol is in other frames); a name that
            // is not a valid symbol is passed over.
            try RecordingReader(path: path).forEachRecord { _, payload in
                BinaryFrameCodec.forEachSymbol(in: payload) { _ = try? symbols.intern(String(decoding: $0, as: UTF8.self)) }
            }
        }
        var ticks: [Tick] = []
        var rejected: UInt64 = 0
        let context = DecodeContext(symbols: symbols, maximumFrameBytes: 64 * 1024)
        switch reader.header.payload.feedFormat {
        case .binary?:
            var decoder = FeedDecoder<BinaryFrameCodec>(context: context)
            try reader.forEachRecord { _, payload in decoder.decode(payload, receiveTime: 0, onError: { _ in rejected += 1 }) { ticks.append($0) } }
            decoder.finish { _ in rejected += 1 }
        case .jsonLines?:
            var decoder = FeedDecoder<JSONLineCodec>(context: context)
            try reader.forEachRecord { _, payload in decoder.decode(payload, receiveTime: 0, onError: { _ in rejected += 1 }) { ticks.append($0) } }
            decoder.finish { _ in rejected += 1 }
        case .bistITCH?:
            // The ticks the daemon's books would make of the packets (sent on as binary frames).
            var receiver = MoldUDP64Receiver(canRequest: false)
            var books = BISTOrderBooks(symbols: symbols, feed: 0)
            try reader.forEachRecord { time, payload in
                if receiver.receive(payload, now: 0, act: { if case .sessionStarted = $0 { books.startSession(now: time) } }, deliver: { _, message in
                    if books.apply(message, receiveTime: 0, emit: { ticks.append($0) }) != nil { rejected += 1 }
                }) != nil { rejected += 1 }
            }
        case nil, .algolab?:
            throw BenchError("\(path): the recording's payload format is unknown; it cannot be replayed as ticks")
        }
        guard !ticks.isEmpty else { throw BenchError("\(path): no tick in the recording decodes with the daemon's symbol universe") }
        // Exchange times may step back a little between feeds; the schedule never does.
        var latest = Int64.min
        for i in ticks.indices {
            latest = max(latest, ticks[i].exchangeTime)
            ticks[i].exchangeTime = latest
        }
        return (BenchFeed(symbols: symbols, ticks: ticks, speed: speed, firstSequence: firstSequence), rejected)
    }

    /// Ticks a client subscribed to `subscription` should receive of the whole feed.
    public func expectedTicks(for subscription: [SymbolID]) -> Int {
        subscription.reduce(0) { $0 + ticksPerSymbol[Int($1.rawValue)] }
    }

    /// The first `n` ticks (all of them when `n` is the feed's length), summarised per symbol in
    /// one pass: what was sent when a run stops early. Computed once per run, not per client.
    public func sent(_ n: Int) -> SentTicks {
        let n = max(0, min(n, ticks.count))
        var counts = [Int](repeating: 0, count: symbols.count)
        var last = [Int32](repeating: -1, count: symbols.count)
        for (i, tick) in ticks[..<n].enumerated() {
            let s = Int(tick.symbol.rawValue)
            counts[s] += 1
            last[s] = Int32(i)
        }
        return SentTicks(count: n, perSymbol: counts, lastOfSymbol: last)
    }
}

/// The ticks of a feed that were sent (its first `count`), per symbol.
public struct SentTicks: Sendable {
    public let count: Int
    public let perSymbol: [Int]
    /// The index of each symbol's last tick among them (-1: none).
    public let lastOfSymbol: [Int32]

    /// Ticks a client subscribed to `subscription` should have received of these.
    public func expected(for subscription: [SymbolID]) -> UInt64 {
        UInt64(subscription.reduce(0) { $0 + perSymbol[Int($1.rawValue)] })
    }
}

/// A bench failure, reported as one line.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
