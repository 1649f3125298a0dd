import Atomics
import Glibc
import RingBuffer

/// Collects decoded ticks and hands them to the pipeline's ring in batches. When the ring is full
/// the reader waits for the pipeline (backpressure that reaches TCP senders through the socket
/// buffers); every wait is counted, nothing is dropped.
final class TickBatcher {
    private let ring: SPSCRing<Tick>
    private let batch: UnsafeMutableBufferPointer<Tick>
    private var count = 0
    let ringFullWaits: ManagedAtomic<UInt64>
    private let doorbell: Doorbell

    init(ring: SPSCRing<Tick>, doorbell: Doorbell, capacity: Int, ringFullWaits: ManagedAtomic<UInt64>) {
        self.ring = ring
        self.doorbell = doorbell
        batch = .allocate(capacity: capacity)
        self.ringFullWaits = ringFullWaits
    }

    deinit { batch.deallocate() }

    @inline(__always)
    func append(_ tick: Tick) {
        batch[count] = tick
        count += 1
        if count == batch.count { flush() }
    }

    func flush() {
        guard count > 0 else { return }
        var sent = 0
        var wait = FullRingWait()
        while sent < count {
            let n = ring.push(contentsOf: UnsafeBufferPointer(rebasing: batch[sent..<count]))
            doorbell.ring()
            if n == 0 {
                ringFullWaits.wrappingIncrement(ordering: .relaxed)
                wait.pause()
            }
            sent += n
        }
        count = 0
    }
}
