import NIOCore
import Synchronization

/// One WebSocket client's outbound queue: the fan-out thread (and the connection's own reader,
/// for replies) put encoded messages in; the connection's writer takes out everything queued at
/// once and writes it with one flush. Bounded: a client that lets `capacity` messages pile up is
/// a slow consumer and is disconnected (`isSlow`), rather than making anyone wait.
///
/// Messages are queued as WebSocket frames, copied into one buffer per client: the writer's
/// work per batch does not grow with its length, and the message buffers the hub shares between
/// clients are not retained and released on the event loops (their reference counts would
/// bounce between cores).
///
/// The writer is woken, not polled: `onReady` is called when a message arrives (or the queue
/// ends) while no drain is under way, and the writer then calls `take()` until it answers `idle`.
public final class FanoutClient: Sendable {
    public typealias ID = SubscriptionTable.ClientID

    /// What `take()` found.
    public enum Take: Sendable {
        /// Everything queued, in order, as WebSocket frames (`WebSocketWire`), and how many messages.
        case frames(ByteBuffer, messages: Int)
        /// Nothing queued: the next message calls `onReady` again.
        case idle
        /// The queue has ended and is empty (closed, or cut off as slow): nothing more comes.
        case ended
    }

    public let id: ID
    public let capacity: Int
    private let onSlow: @Sendable () -> Void
    private let onReady: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        var frames = ByteBuffer()
        var queued = 0
        /// A writer was woken and has not yet found the queue idle.
        var draining = false
        var ended = false
        var slow = false
        var expired = false

        /// Marks a drain as due; true if the writer needs waking for it.
        mutating func due() -> Bool {
            defer { draining = true }
            return !draining
        }
    }

    /// - Parameters:
    ///   - onSlow: called once, on the thread that found the queue full.
    ///   - onReady: called on the sending thread when the writer has something to take.
    public init(id: ID, capacity: Int, onSlow: @escaping @Sendable () -> Void = {}, onReady: @escaping @Sendable () -> Void = {}) {
        self.id = id
        self.capacity = capacity
        self.onSlow = onSlow
        self.onReady = onReady
    }

    /// Queues one message; false when the client is gone or too slow (it is then being closed).
    @discardableResult
    public func send(_ message: ByteBuffer) -> Bool {
        enum Outcome { case queued(wake: Bool), refused, becameSlow(wake: Bool) }
        let outcome = state.withLock { s -> Outcome in
            guard !s.ended else { return .refused }
            guard s.queued < capacity else {
                // Its backlog is not worth sending: it hears why it is cut off instead.
                s.ended = true
                s.slow = true
                s.frames = ByteBuffer()
                s.queued = 0
                return .becameSlow(wake: s.due())
            }
            if s.queued == 0 { s.frames.reserveCapacity(WebSocketWire.size(of: message, maximumFramePayload: MarketDataSocket.frameBytes) + 4096) }
            WebSocketWire.appendText(message, maximumFramePayload: MarketDataSocket.frameBytes, to: &s.frames)
            s.queued += 1
            return .queued(wake: s.due())
        }
        switch outcome {
        case .queued(let wake):
            if wake { onReady() }
            return true
        case .refused: return false
        case .becameSlow(let wake):
            onSlow()
            if wake { onReady() }
            return false
        }
    }

    /// Makes the client slow without a message (the hub held too many for it): its queue ends
    /// at once and its connection closes with the slow-consumer reason.
    public func cutOff() {
        let (first, wake) = state.withLock { s in
            defer { s.ended = true; s.slow = true; s.frames = ByteBuffer(); s.queued = 0 }
            return (!s.slow, s.due())
        }
        if first { onSlow() }
        if wake { onReady() }
    }

    /// The writer's side: everything queued, or why there is nothing.
    public func take() -> Take {
        state.withLock { s in
            if s.queued > 0 {
                defer { s.frames = ByteBuffer(); s.queued = 0 }
                return .frames(s.frames, messages: s.queued)
            }
            if s.ended { return .ended }
            s.draining = false
            return .idle
        }
    }

    /// True once a message did not fit: the connection closes with a policy-violation code.
    public var isSlow: Bool { state.withLock { $0.slow } }

    /// True once its token expired (`expire()`): the connection closes with that reason.
    public var isExpired: Bool { state.withLock { $0.expired } }

    /// Ends the queue because the client's token expired; what is queued is dropped.
    public func expire() {
        let wake = state.withLock { s in
            s.expired = !s.ended
            s.ended = true
            s.frames = ByteBuffer()
            s.queued = 0
            return s.due()
        }
        if wake { onReady() }
    }

    /// Ends the queue: the writer stops after what is already queued.
    public func close() {
        let wake = state.withLock { s in
            s.ended = true
            return s.due()
        }
        if wake { onReady() }
    }
}
