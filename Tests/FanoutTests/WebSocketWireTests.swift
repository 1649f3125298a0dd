import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
@testable import Fanout

/// The frames the writer puts on the wire read back as NIO's own decoder reads them.
@Suite struct WebSocketWireTests {
    func decode(_ bytes: ByteBuffer) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        _ = try channel.finish()
        return frames
    }

    @Test func messagesOfEveryLengthClassBecomeOneFinalTextFrameEach() throws {
        let messages = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000].map { ByteBuffer(repeating: UInt8(ascii: "x"), count: $0) }
        var bytes = ByteBuffer()
        for m in messages { WebSocketWire.appendText(m, maximumFramePayload: 1 << 20, to: &bytes) }
        #expect(bytes.readableBytes <= messages.reduce(0) { $0 + WebSocketWire.size(of: $1, maximumFramePayload: 1 << 20) })
        let frames = try decode(bytes)
        #expect(frames.map(\.data.readableBytes) == messages.map(\.readableBytes))
        #expect(frames.allSatisfy { $0.fin && $0.opcode == .text && $0.maskKey == nil })
    }

    @Test func aLongMessageIsSplitIntoATextFrameAndContinuations() throws {
        let message = ByteBuffer(string: String(repeating: "abcdefghij", count: 5))  // 50 bytes
        var bytes = ByteBuffer()
        WebSocketWire.appendText(message, maximumFramePayload: 16, to: &bytes)
        let frames = try decode(bytes)
        #expect(frames.map(\.opcode) == [.text, .continuation, .continuation, .continuation])
        #expect(frames.map(\.fin) == [false, false, false, true])
        #expect(frames.map { String(buffer: $0.data) }.joined() == String(buffer: message))
    }
}
