import Atomics

/// A consumer that only counts what reaches it: ticks, trades, distinct symbols and a checksum of
/// the sequence numbers. It stands at the store and fan-out lanes until their real consumers exist,
/// and it is what the end-to-end tests compare against what was sent.
public final class CountingConsumer: TickConsumer, @unchecked Sendable {
    public let ticks = ManagedAtomic<UInt64>(0)
    public let trades = ManagedAtomic<UInt64>(0)
    public let symbolsSeen = ManagedAtomic<Int>(0)
    private var seen: [Bool]
    private var localTicks: UInt64 = 0
    private var localTrades: UInt64 = 0
    private var running = SequenceChecksum()
    private let final = ManagedAtomic<Bool>(false)
    private var published = SequenceChecksum()

    public init(symbolCount: Int) { seen = [Bool](repeating: false, count: symbolCount) }

    public func consume(_ span: UnsafeBufferPointer<Tick>) {
        for tick in span {
            localTicks += 1
            if tick.kind == .trade { localTrades += 1 }
            running.add(feed: tick.feed, sequence: tick.sequence)
            let s = Int(tick.symbol.rawValue)
            if s >= seen.count { seen += Array(repeating: false, count: s + 1 - seen.count) }
            if !seen[s] {
                seen[s] = true
                symbolsSeen.wrappingIncrement(ordering: .relaxed)
            }
        }
        ticks.store(localTicks, ordering: .relaxed)
        trades.store(localTrades, ordering: .relaxed)
    }

    public func idle(now: Int64) {}
    public var idleIntervalNanos: Int64 { 100_000_000 }
    public var toleratedDelayNanos: Int64 { 5_000_000 }

    public func finish() {
        published = running
        final.store(true, ordering: .releasing)
    }

    /// The checksum over everything consumed, once the lane has finished; `nil` before.
    public var checksum: SequenceChecksum? {
        final.load(ordering: .acquiring) ? published : nil
    }
}
