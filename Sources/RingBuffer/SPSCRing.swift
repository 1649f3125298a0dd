import Atomics

/// A bounded, lock-free single-producer/single-consumer ring of fixed-size values.
///
/// Exactly one thread may call the producer methods (`push`) and exactly one thread the consumer
/// methods (`pop`, `drain`) at any time; the two may be different threads. Nothing allocates after
/// `init`, and no operation blocks: a full ring makes `push` return `false` (or a short count), an
/// empty ring makes `pop` return `nil`, and the caller decides what that means (retry, spill, count
/// a drop).
///
/// Layout: the producer's index and the consumer's index live on separate 128-byte blocks (two
/// cache lines, so that adjacent-line prefetch does not couple them either). Each side keeps a
/// private cached copy of the other side's index next to its own, and only reloads the shared one
/// (an acquiring load) when the cached copy says the ring is full or empty.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    /// Number of slots; always a power of two.
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element>
    private let control: UnsafeMutableRawPointer

    // Producer block: [0] write index (shared), [1] cached read index (producer-private).
    // Consumer block: [16] read index (shared), [17] cached write index (consumer-private).
    private var writeIndex: UnsafeAtomic<Int> {
        UnsafeAtomic(at: control.assumingMemoryBound(to: Int.AtomicRepresentation.self))
    }
    private var readIndex: UnsafeAtomic<Int> {
        UnsafeAtomic(at: (control + 128).assumingMemoryBound(to: Int.AtomicRepresentation.self))
    }
    private var cachedReadIndex: UnsafeMutablePointer<Int> {
        (control + MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self)
    }
    private var cachedWriteIndex: UnsafeMutablePointer<Int> {
        (control + 128 + MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self)
    }

    /// Creates a ring holding at least `minimumCapacity` values (rounded up to a power of two).
    public init(minimumCapacity: Int) {
        precondition(minimumCapacity > 0, "ring capacity must be positive")
        precondition(minimumCapacity <= 1 << 40, "ring capacity is unreasonably large")
        var capacity = 1
        while capacity < minimumCapacity { capacity <<= 1 }
        self.capacity = capacity
        self.mask = capacity - 1
        self.slots = .allocate(capacity: capacity)
        self.control = .allocate(byteCount: 256, alignment: 128)
        control.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
        for offset in [0, 128] {
            (control + offset).initializeMemory(as: Int.AtomicRepresentation.self, to: .init(0))
            (control + offset + MemoryLayout<Int>.stride).initializeMemory(as: Int.self, to: 0)
        }
    }

    deinit {
        slots.deallocate()
        control.deallocate()
    }

    // MARK: Producer

    /// Appends one value. Returns `false` when the ring is full. Producer thread only.
    public func push(_ value: Element) -> Bool {
        let write = writeIndex.load(ordering: .relaxed)
        if write - cachedReadIndex.pointee == capacity {
            cachedReadIndex.pointee = readIndex.load(ordering: .acquiring)
            if write - cachedReadIndex.pointee == capacity { return false }
        }
        (slots + (write & mask)).initialize(to: value)
        writeIndex.store(write + 1, ordering: .releasing)
        return true
    }

    /// Appends as many of `values` as fit, in order, with a single index publication.
    /// Returns how many were appended (0 when full). Producer thread only.
    public func push(contentsOf values: UnsafeBufferPointer<Element>) -> Int {
        guard let base = values.baseAddress, !values.isEmpty else { return 0 }
        let write = writeIndex.load(ordering: .relaxed)
        var free = capacity - (write - cachedReadIndex.pointee)
        if free < values.count {
            cachedReadIndex.pointee = readIndex.load(ordering: .acquiring)
            free = capacity - (write - cachedReadIndex.pointee)
        }
        let n = min(free, values.count)
        guard n > 0 else { return 0 }
        let start = write & mask
        let first = min(n, capacity - start)
        (slots + start).initialize(from: base, count: first)
        if first < n { slots.initialize(from: base + first, count: n - first) }
        writeIndex.store(write + n, ordering: .releasing)
        return n
    }

    // MARK: Consumer

    /// Removes and returns the oldest value, or `nil` when the ring is empty. Consumer thread only.
    public func pop() -> Element? {
        let read = readIndex.load(ordering: .relaxed)
        if read == cachedWriteIndex.pointee {
            cachedWriteIndex.pointee = writeIndex.load(ordering: .acquiring)
            if read == cachedWriteIndex.pointee { return nil }
        }
        let value = (slots + (read & mask)).pointee
        readIndex.store(read + 1, ordering: .releasing)
        return value
    }

    /// Moves up to `buffer.count` of the oldest values into `buffer`, in order.
    /// Returns how many were moved. Consumer thread only.
    public func pop(into buffer: UnsafeMutableBufferPointer<Element>) -> Int {
        guard let out = buffer.baseAddress else { return 0 }
        var filled = 0
        return drain(maximum: buffer.count) { span in
            (out + filled).initialize(from: span.baseAddress!, count: span.count)
            filled += span.count
        }
    }

    /// Hands up to `maximum` of the oldest values to `body` in place (at most two contiguous spans,
    /// oldest first), then releases their slots. Returns how many were consumed. The spans are only
    /// valid inside `body`. Consumer thread only.
    @discardableResult
    public func drain(maximum: Int = .max, _ body: (UnsafeBufferPointer<Element>) throws -> Void) rethrows -> Int {
        let read = readIndex.load(ordering: .relaxed)
        var available = cachedWriteIndex.pointee - read
        if available == 0 {
            cachedWriteIndex.pointee = writeIndex.load(ordering: .acquiring)
            available = cachedWriteIndex.pointee - read
        }
        let n = min(available, maximum)
        guard n > 0 else { return 0 }
        let start = read & mask
        let first = min(n, capacity - start)
        try body(UnsafeBufferPointer(start: slots + start, count: first))
        if first < n { try body(UnsafeBufferPointer(start: slots, count: n - first)) }
        readIndex.store(read + n, ordering: .releasing)
        return n
    }

    // MARK: Either side

    /// Values currently in the ring. Exact only when neither side is running; a snapshot otherwise.
    public var count: Int {
        let read = readIndex.load(ordering: .acquiring)
        return writeIndex.load(ordering: .acquiring) - read
    }

    public var isEmpty: Bool { count == 0 }
}
