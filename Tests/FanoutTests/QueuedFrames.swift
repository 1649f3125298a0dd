import NIOCore
import NIOEmbedded
import NIOWebSocket
@testable import Fanout

extension FanoutClient.Take {
    /// The queued messages, read back from their frames with NIO's decoder (continuations joined);
    /// nil for `idle` and `ended`.
    var messages: [ByteBuffer]? {
        guard case .frames(let bytes, let count) = self else { return nil }
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))
        defer { _ = try? channel.finish() }
        try! channel.writeInbound(bytes)
        var messages: [ByteBuffer] = []
        var partial: ByteBuffer?
        while let frame = try! channel.readInbound(as: WebSocketFrame.self) {
            var data = frame.data
            if var p = partial { p.writeBuffer(&data); partial = p } else { partial = data }
            if frame.fin { messages.append(partial!); partial = nil }
        }
        precondition(messages.count == count && partial == nil, "\(count) messages queued, \(messages.count) framed")
        return messages
    }

    var isIdle: Bool { if case .idle = self { true } else { false } }
    var isEnded: Bool { if case .ended = self { true } else { false } }
}
