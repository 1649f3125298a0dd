import Foundation
import RingBuffer
import TestSupport
import Testing

@Suite struct SPSCRingSemanticsTests {
    @Test func capacityRoundsUpToPowerOfTwo() {
        #expect(SPSCRing<Int>(minimumCapacity: 1).capacity == 1)
        #expect(SPSCRing<Int>(minimumCapacity: 5).capacity == 8)
        #expect(SPSCRing<Int>(minimumCapacity: 1024).capacity == 1024)
    }

    @Test func emptyRingPopsNothing() {
        let ring = SPSCRing<Int>(minimumCapacity: 4)
        #expect(ring.pop() == nil)
        #expect(ring.isEmpty)
        #expect(ring.drain { _ in Issue.record("drain body must not run on an empty ring") } == 0)
    }

    @Test func fullRingRefusesPush() {
        let ring = SPSCRing<Int>(minimumCapacity: 4)
        for i in 0..<4 { #expect(ring.push(i)) }
        #expect(!ring.push(99))
        #expect(ring.count == 4)
        #expect(ring.pop() == 0)
        #expect(ring.push(4))
        #expect(!ring.push(5))
        #expect((0..<4).map { _ in ring.pop() } == [1, 2, 3, 4])
        #expect(ring.pop() == nil)
    }

    @Test func wrapsAroundManyTimesInOrder() {
        let ring = SPSCRing<UInt32>(minimumCapacity: 8)
        var next: UInt32 = 0, expected: UInt32 = 0
        for round in 0..<1000 {
            for _ in 0..<(round % 8 + 1) { #expect(ring.push(next)); next += 1 }
            while let v = ring.pop() { #expect(v == expected); expected += 1 }
        }
        #expect(expected == next)
    }

    @Test func batchPushIsPartialWhenNearlyFull() {
        let ring = SPSCRing<Int>(minimumCapacity: 8)
        for i in 0..<5 { _ = ring.push(i) }
        let pushed = [10, 11, 12, 13, 14].withUnsafeBufferPointer { ring.push(contentsOf: $0) }
        #expect(pushed == 3)
        var out = [Int](repeating: -1, count: 16)
        let popped = out.withUnsafeMutableBufferPointer { ring.pop(into: $0) }
        #expect(popped == 8)
        #expect(Array(out.prefix(8)) == [0, 1, 2, 3, 4, 10, 11, 12])
    }

    @Test func drainHandsTwoSpansAcrossTheWrapPoint() {
        let ring = SPSCRing<Int>(minimumCapacity: 8)
        for i in 0..<6 { _ = ring.push(i) }
        for _ in 0..<6 { _ = ring.pop() }  // indices now at 6: the next 5 values wrap
        for i in 100..<105 { _ = ring.push(i) }
        var spans: [[Int]] = []
        let n = ring.drain { spans.append(Array($0)) }
        #expect(n == 5)
        #expect(spans == [[100, 101], [102, 103, 104]])
        #expect(ring.isEmpty)
    }

    @Test func drainRespectsMaximum() {
        let ring = SPSCRing<Int>(minimumCapacity: 16)
        for i in 0..<10 { _ = ring.push(i) }
        var seen: [Int] = []
        #expect(ring.drain(maximum: 3) { seen += $0 } == 3)
        #expect(seen == [0, 1, 2])
        #expect(ring.count == 7)
    }

    @Test func drainThatThrowsReleasesNothing() {
        struct Stop: Error {}
        let ring = SPSCRing<Int>(minimumCapacity: 4)
        _ = ring.push(1)
        #expect(throws: Stop.self) { try ring.drain { _ in throw Stop() } }
        #expect(ring.pop() == 1)
    }
}

/// A value whose two words must always agree; a torn or stale read breaks the pair.
struct StressItem: BitwiseCopyable, Equatable {
    var sequence: UInt64
    var check: UInt64
    init(_ sequence: UInt64) {
        self.sequence = sequence
        self.check = sequence &* 0x9E37_79B9_7F4A_7C15
    }
}

/// Moves `count` items through a ring between two real threads and checks every one on arrival.
/// Returns how many arrived out of sequence or torn (0 expected). The calling thread consumes,
/// spinning for seconds: never a thread of the cooperative pool (it would hold one of its two).
func runTwoThreadStress(count: UInt64, capacity: Int, batch: Int) -> (received: UInt64, faults: Int) {
    expectOffThePool("a ring stress test's spinning consumer")
    let ring = SPSCRing<StressItem>(minimumCapacity: capacity)
    let producer = Thread {
        var buffer = [StressItem](repeating: StressItem(0), count: max(batch, 1))
        var next: UInt64 = 0
        while next < count {
            if batch <= 1 {
                while !ring.push(StressItem(next)) { sched_yield() }  // blocking-checked: a thread of its own
                next += 1
            } else {
                let n = Int(min(UInt64(batch), count - next))
                for i in 0..<n { buffer[i] = StressItem(next + UInt64(i)) }
                var sent = 0
                buffer.withUnsafeBufferPointer { all in
                    while sent < n {
                        let pushed = ring.push(contentsOf: UnsafeBufferPointer(rebasing: all[sent..<n]))
                        if pushed == 0 { sched_yield() }  // blocking-checked: a thread of its own
                        sent += pushed
                    }
                }
                next += UInt64(n)
            }
        }
    }
    producer.start()
    var expected: UInt64 = 0
    var faults = 0
    while expected < count {
        let n = ring.drain(maximum: max(batch, 1)) { span in
            for item in span {
                if item.sequence != expected || item != StressItem(item.sequence) { faults += 1 }
                expected = item.sequence + 1
            }
        }
        if n == 0 { sched_yield() }  // blocking-checked
    }
    return (expected, faults)
}

/// Off the pool: two of these at once held both of its threads for up to 40 s under load, and
/// every async test of the run waited (a session watcher's 20 s wait timed out).
@Suite(.offThePool, .timeLimit(.minutes(5))) struct SPSCRingStressTests {
    /// Tens of millions of items normally; fewer under ThreadSanitizer, which is ~10x slower
    /// but checks every access for races.
    static let items: UInt64 = ProcessInfo.processInfo.environment["AKIS_RING_STRESS_ITEMS"].flatMap(UInt64.init) ?? 20_000_000

    @Test func singleItemHandOffLosesNothing() {
        let result = runTwoThreadStress(count: Self.items, capacity: 1024, batch: 1)
        #expect(result.received == Self.items)
        #expect(result.faults == 0)
    }

    @Test func batchedHandOffLosesNothing() {
        let result = runTwoThreadStress(count: Self.items, capacity: 4096, batch: 256)
        #expect(result.received == Self.items)
        #expect(result.faults == 0)
    }

    @Test func tinyRingUnderConstantContention() {
        let result = runTwoThreadStress(count: Self.items / 10, capacity: 2, batch: 3)
        #expect(result.received == Self.items / 10)
        #expect(result.faults == 0)
    }
}
