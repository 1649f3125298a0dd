import NIOCore
import NIOWebSocket

/// Writes one client's queue into its channel, on the channel's event loop: woken by the queue
/// (from the fan-out thread, one hop), it takes everything queued (one buffer of WebSocket
/// frames), writes it with one flush, and takes again only once the socket has accepted it.
/// So a client that reads slowly lets its queue fill (and is cut off) instead of growing memory.
///
/// The buffer is written from the frame encoder's place in the pipeline (it is frames already);
/// the daemon's own control frames (the close) still go through the encoder, after the queue.
///
/// Its state is touched only on the channel's event loop, which is why it can be
/// `@unchecked Sendable`.
final class ClientWriter: @unchecked Sendable {
    private let channel: any Channel
    private let wakeups: WriterWakeups.Loop
    private var client: FanoutClient?
    private var writing = false
    private var finished = false
    private var done: EventLoopPromise<Void>?
    /// Where frame bytes enter the pipeline: just below the frame encoder.
    private var wire: ChannelHandlerContext?

    init(channel: any Channel, wakeups: WriterWakeups) {
        self.channel = channel
        self.wakeups = wakeups.loop(channel.eventLoop)
    }

    /// Starts writing `client`'s queue (any thread). The future succeeds once the queue has ended
    /// and everything in it was written, and fails if a write failed.
    func attach(_ client: FanoutClient) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            self.client = client
            self.done = done
            self.wire = try? self.channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
            self.drain()
        }
        return done.futureResult
    }

    /// The queue has something to take (any thread).
    func wake() {
        wakeups.wake(self)
    }

    /// Takes and writes what is queued, unless a write is under way (on the event loop).
    func drain() {
        guard let client, !writing, !finished else { return }
        switch client.take() {
        case .idle:
            return
        case .ended:
            finish(nil)
        case .frames(let bytes, _):
            guard let wire else {
                finish(ClientWriterError())
                return
            }
            writing = true
            let written = channel.eventLoop.makePromise(of: Void.self)
            wire.writeAndFlush(NIOAny(bytes), promise: written)
            written.futureResult.whenComplete { result in
                self.writing = false
                if case .failure(let error) = result { self.finish(error) } else { self.drain() }
            }
        }
    }

    private func finish(_ error: (any Error)?) {
        guard !finished else { return }
        finished = true
        if let error { done?.fail(error) } else { done?.succeed() }
    }
}

/// The channel has no WebSocket frame encoder: not an upgraded WebSocket connection.
struct ClientWriterError: Error, CustomStringConvertible {
    var description: String { "the connection has no WebSocket frame encoder to write frames below" }
}
