import Atomics
import Glibc
import RingBuffer

/// The pipeline's hand-off to one consumer thread (store writer, fan-out, ...): an SPSC ring and
/// an explicit policy for when that ring is full.
public final class ConsumerLane: Sendable {
    public enum FullPolicy: String, Sendable, CaseIterable {
        /// Wait for the consumer: backpressure reaches the readers and, through TCP, the feeds.
        /// Nothing is lost. The only policy storage may use.
        case block
        /// Keep going without the ticks that do not fit, and count them. For consumers that can
        /// lose ticks (a slow fan-out client), never for storage.
        case drop
    }

    public let name: String
    public let ring: SPSCRing<Tick>
    public let policy: FullPolicy
    /// Ticks handed to the consumer.
    public let delivered = ManagedAtomic<UInt64>(0)
    /// Ticks dropped because the ring was full (`drop` policy).
    public let dropped = ManagedAtomic<UInt64>(0)
    /// Times the pipeline waited for room (`block` policy).
    public let fullWaits = ManagedAtomic<UInt64>(0)
    /// Set by the pipeline when no more ticks will come; the consumer drains and stops.
    public let closed = ManagedAtomic<Bool>(false)
    /// Rung by the pipeline after each hand-off; the consumer sleeps on it when idle.
    public let doorbell = Doorbell()
    /// Where the `drop` policy notes the sequence numbers it dropped, for a consumer that catches up.
    public let dropWatermark: DropWatermark?

    public init(name: String, capacity: Int, policy: FullPolicy, dropWatermark: DropWatermark? = nil) {
        self.name = name
        ring = SPSCRing(minimumCapacity: capacity)
        self.policy = policy
        self.dropWatermark = dropWatermark
    }

    /// Pipeline side: hands over `ticks` under the lane's policy; returns how many were dropped.
    public func offer(_ ticks: UnsafeBufferPointer<Tick>) -> Int {
        var sent = ring.push(contentsOf: ticks)
        var lost = 0
        if sent < ticks.count {
            switch policy {
            case .block:
                var wait = FullRingWait()
                while sent < ticks.count {
                    fullWaits.wrappingIncrement(ordering: .relaxed)
                    doorbell.ringUrgently()
                    wait.pause()
                    sent += ring.push(contentsOf: UnsafeBufferPointer(rebasing: ticks[sent...]))
                }
            case .drop:
                lost = ticks.count - sent
                dropWatermark?.record(UnsafeBufferPointer(rebasing: ticks[sent...]))
                // Releasing: a consumer that reads the count with acquiring sees the watermark too.
                dropped.wrappingIncrement(by: UInt64(lost), ordering: .releasing)
            }
        }
        // A consumer that dozes (tolerates delay) is woken only once a quarter of its ring is used.
        if sent > 0 {
            if ring.count >= ring.capacity / 4 { doorbell.ringUrgently() } else { doorbell.ring() }
        }
        delivered.wrappingIncrement(by: UInt64(sent), ordering: .relaxed)
        return lost
    }

    /// Consumer side: feeds every tick to `consumer` until the pipeline closes the lane and the
    /// ring is empty, then calls `finish`. Run this on the consumer's own thread.
    public func run(_ consumer: some TickConsumer) {
        let tolerated = consumer.toleratedDelayNanos
        while true {
            let closed = closed.load(ordering: .acquiring)
            let n = ring.drain(maximum: 4096) { consumer.consume($0) }
            if n > 0 { continue }
            if closed { break }
            let now = Clock.monotonicNanos()
            consumer.idle(now: now)
            let isIdle = { self.ring.isEmpty && !self.closed.load(ordering: .acquiring) && !consumer.hasPendingWork }
            if tolerated > 0 {
                doorbell.sleep(timeoutNanos: min(tolerated, consumer.idleIntervalNanos), dozing: true, isIdle: isIdle)
            } else {
                doorbell.sleep(timeoutNanos: consumer.idleIntervalNanos, isIdle: isIdle)
            }
        }
        consumer.finish()
    }

    /// Pipeline side: no more ticks will come.
    func close() {
        closed.store(true, ordering: .releasing)
        doorbell.ringUrgently()
    }
}

/// Whatever runs at the far end of a `ConsumerLane`, on its own thread.
public protocol TickConsumer: AnyObject {
    func consume(_ ticks: UnsafeBufferPointer<Tick>)
    /// Called when the lane is empty: time for periodic work (flushing a batch on time).
    func idle(now: Int64)
    /// The longest the consumer may sleep while idle before `idle` is called again.
    var idleIntervalNanos: Int64 { get }
    /// Work that arrived outside the lane (rung on the lane's doorbell): the consumer does not sleep
    /// while this is true.
    var hasPendingWork: Bool { get }
    /// How long a tick may wait in the lane before the consumer takes it. 0 (the default): wake at
    /// once. More lets the consumer doze through a steady feed instead of waking for every tick.
    var toleratedDelayNanos: Int64 { get }
    /// The lane is closed and drained.
    func finish()
}

extension TickConsumer {
    public var hasPendingWork: Bool { false }
    public var toleratedDelayNanos: Int64 { 0 }
}
