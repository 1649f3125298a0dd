import Atomics
import Fanout
import Ingest

/// Sends a `BenchFeed` on its schedule (as Akis binary frames, or Redis `PUBLISH`es for the
/// baseline), never waiting for the server.
///
/// Tick `i` is due at `start + offset(i)`; its exchange time is set to that scheduled time (on the
/// bench clock), so a subscriber's latency counts every delay after the schedule, including any
/// time the sender itself was held up (no coordinated omission). Whatever is due is written in one
/// `send`; `lateness` records how long after its due time each tick actually left.
public final class OpenLoopSender: Sendable {
    public let feed: BenchFeed
    /// Ticks handed to the socket so far (for progress lines).
    public let sent = ManagedAtomic<UInt64>(0)

    public struct Report: Sendable {
        public var ticks: UInt64
        public var bytes: UInt64
        /// Monotonic time of the first due tick and of the last send.
        public var startMonotonic: Int64
        public var endMonotonic: Int64
        /// Actual send time − scheduled time, per tick.
        public var lateness: LatencyHistogram
    }

    /// Writes one tick, its exchange time already the scheduled time, in the wire format.
    public typealias Encoder = @Sendable (Tick, SymbolTable, inout [UInt8]) -> Void
    private let encode: Encoder

    public init(feed: BenchFeed, encode: @escaping Encoder = { BinaryFrameCodec.encode($0, symbols: $1, into: &$2) }) {
        self.feed = feed
        self.encode = encode
    }

    /// Redis `PUBLISH SYMBOL message`, the message what the daemon would send for the tick.
    public static let redisPublish: Encoder = { tick, symbols, out in
        let name = symbols.name(of: tick.symbol)
        RESP.appendCommand([Array("PUBLISH".utf8), Array(name.utf8), Array(MarketMessage.tick(tick, symbol: name).utf8)], to: &out)
    }

    /// Sends every tick, the first due at monotonic time `start`, or stops early once `stop` says
    /// so. Throws when the connection fails (a bench with a broken feed has no result).
    public func run(to socket: Socket, startingAt start: Int64, clock: BenchClock, stop: @Sendable () -> Bool = { false }) throws -> Report {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256 * 1024)
        var dues: [Int64] = []
        dues.reserveCapacity(4096)
        var lateness = LatencyHistogram()
        var bytes: UInt64 = 0
        var count: UInt64 = 0
        let symbols = feed.symbols

        func flush() throws {
            guard !buffer.isEmpty else { return }
            try buffer.withUnsafeBytes { try socket.send($0) }
            let now = Clock.monotonicNanos()
            for due in dues { lateness.record(nanos: now - due) }
            bytes += UInt64(buffer.count)
            count += UInt64(dues.count)
            sent.store(count, ordering: .relaxed)
            buffer.removeAll(keepingCapacity: true)
            dues.removeAll(keepingCapacity: true)
        }

        for var tick in feed.ticks {
            let due = start + tick.exchangeTime
            if due > Clock.monotonicNanos() {
                try flush()
                if stop() { break }
                Clock.sleep(untilMonotonic: due)
            }
            tick.exchangeTime = clock.wall(atMonotonic: due)
            encode(tick, symbols, &buffer)
            dues.append(due)
            if buffer.count >= 128 * 1024 { try flush() }
        }
        try flush()
        return Report(ticks: count, bytes: bytes, startMonotonic: start, endMonotonic: Clock.monotonicNanos(), lateness: lateness)
    }
}
