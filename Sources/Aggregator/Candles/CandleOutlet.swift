import Atomics
import Ingest
import RingBuffer

/// The aggregator's hand-off of candle updates to one consumer thread, next to that consumer's
/// tick lane: an SPSC ring whose updates carry the lane's tick count as their stamp.
public final class CandleOutlet: Sendable {
    public let ring: SPSCRing<CandleUpdate>
    /// The consumer's tick lane, whose `delivered` count stamps each update.
    public let lane: ConsumerLane
    /// Updates dropped because the ring was full (only under the `drop` policy).
    public let dropped = ManagedAtomic<UInt64>(0)

    public init(lane: ConsumerLane, capacity: Int = 1 << 14) {
        self.lane = lane
        ring = SPSCRing(minimumCapacity: capacity)
    }

    /// Pipeline side: hands one update over under the lane's full-ring policy.
    func send(_ kind: CandleUpdate.Kind, _ candle: Candle) {
        let update = CandleUpdate(kind: kind, candle: candle, stamp: lane.delivered.load(ordering: .relaxed))
        var wait = FullRingWait()
        while !ring.push(update) {
            guard lane.policy == .block else {
                dropped.wrappingIncrement(ordering: .relaxed)
                return
            }
            lane.doorbell.ring()
            wait.pause()
        }
    }
}
