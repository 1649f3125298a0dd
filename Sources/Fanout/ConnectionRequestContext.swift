import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// What `/ws/market-data` needs of a server's request context: Hummingbird's WebSocket context
/// plus the connection's channel, so that a client too slow to read even the close frame can be
/// cut off at the TCP level. The daemon's `DaemonRequestContext` is one.
public protocol ConnectionRequestContext: RequestContext, WebSocketRequestContext {
    /// The client's TCP connection.
    var channel: any Channel { get }
}
