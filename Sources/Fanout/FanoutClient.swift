import Atomics
import NIOCore

/// One WebSocket client's outbound queue: the fan-out thread (and the connection's own reader,
/// for replies) put encoded messages in; the connection's writer task takes them out and writes
/// them to the socket. Bounded: a client that lets `capacity` messages pile up is a slow consumer
/// and is disconnected (`isSlow`), rather than making anyone wait or silently losing its data.
public final class FanoutClient: Sendable {
    public typealias ID = SubscriptionTable.ClientID

    public let id: ID
    /// The messages, in order, for the writer task.
    public let messages: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let slow = ManagedAtomic<Bool>(false)
    /// Messages queued for this client.
    public let queued = ManagedAtomic<UInt64>(0)
    public let capacity: Int
    private let onSlow: @Sendable () -> Void

    /// - Parameter onSlow: called once, on the thread that found the queue full.
    public init(id: ID, capacity: Int, onSlow: @escaping @Sendable () -> Void = {}) {
        self.id = id
        self.capacity = capacity
        self.onSlow = onSlow
        (messages, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues one message; false when the client is gone or too slow (it is then being closed).
    @discardableResult
    public func send(_ message: ByteBuffer) -> Bool {
        switch continuation.yield(message) {
        case .enqueued:
            queued.wrappingIncrement(ordering: .relaxed)
            return true
        case .dropped:
            if !slow.exchange(true, ordering: .relaxed) {
                continuation.finish()
                onSlow()
            }
            return false
        case .terminated:
            return false
        @unknown default:
            return false
        }
    }

    /// True once a message did not fit: the connection closes with a policy-violation code.
    public var isSlow: Bool { slow.load(ordering: .relaxed) }

    /// Ends the queue: the writer stops after what is already queued.
    public func close() { continuation.finish() }
}
