import NIOCore
import Synchronization

/// One WebSocket client's outbound queue: the fan-out thread (and the connection's own reader,
/// for replies) put encoded messages in; the connection's writer task takes out everything queued
/// at once and writes it with one flush. Bounded: a client that lets `capacity` messages pile up
/// is a slow consumer and is disconnected (`isSlow`), rather than making anyone wait.
public final class FanoutClient: Sendable {
    public typealias ID = SubscriptionTable.ClientID

    public let id: ID
    public let capacity: Int
    private let onSlow: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        var queue: [ByteBuffer] = []
        var waiter: CheckedContinuation<[ByteBuffer], Never>?
        var ended = false
        var slow = false
    }

    /// - Parameter onSlow: called once, on the thread that found the queue full.
    public init(id: ID, capacity: Int, onSlow: @escaping @Sendable () -> Void = {}) {
        self.id = id
        self.capacity = capacity
        self.onSlow = onSlow
    }

    /// Queues one message; false when the client is gone or too slow (it is then being closed).
    @discardableResult
    public func send(_ message: ByteBuffer) -> Bool {
        enum Outcome { case queued, handed(CheckedContinuation<[ByteBuffer], Never>, [ByteBuffer]), refused, becameSlow }
        let outcome = state.withLock { s -> Outcome in
            guard !s.ended else { return .refused }
            if let waiter = s.waiter {
                s.waiter = nil
                return .handed(waiter, [message])
            }
            guard s.queue.count < capacity else {
                // Its backlog is not worth sending: it hears why it is cut off instead.
                s.ended = true
                s.slow = true
                s.queue = []
                return .becameSlow
            }
            s.queue.append(message)
            return .queued
        }
        switch outcome {
        case .queued: return true
        case .handed(let waiter, let batch):
            waiter.resume(returning: batch)
            return true
        case .refused: return false
        case .becameSlow:
            onSlow()
            return false
        }
    }

    /// Makes the client slow without a message (the hub held too many for it): its queue ends
    /// at once and its connection closes with the slow-consumer reason.
    public func cutOff() {
        let (waiter, first) = state.withLock { s in
            defer { s.waiter = nil; s.ended = true; s.slow = true; s.queue = [] }
            return (s.waiter, !s.slow)
        }
        waiter?.resume(returning: [])
        if first { onSlow() }
    }

    /// Everything queued, in order, waiting until there is something; nil once the queue has ended
    /// and been emptied.
    public func next() async -> [ByteBuffer]? {
        let batch = await withCheckedContinuation { (waiter: CheckedContinuation<[ByteBuffer], Never>) in
            let ready = state.withLock { s -> [ByteBuffer]? in
                if !s.queue.isEmpty || s.ended {
                    defer { s.queue = [] }
                    return s.queue
                }
                s.waiter = waiter
                return nil
            }
            if let ready { waiter.resume(returning: ready) }
        }
        return batch.isEmpty ? nil : batch
    }

    /// True once a message did not fit: the connection closes with a policy-violation code.
    public var isSlow: Bool { state.withLock { $0.slow } }

    /// Ends the queue: the writer stops after what is already queued.
    public func close() {
        let waiter = state.withLock { s in
            s.ended = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: [])
    }
}
