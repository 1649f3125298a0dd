import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route of the daemon: Hummingbird's WebSocket context plus the
/// connection's channel, so that a WebSocket client too slow to read even the close frame can be
/// cut off at the TCP level.
public struct DaemonRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The client's TCP connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
