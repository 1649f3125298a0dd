import NIOCore

/// Server-to-client WebSocket frames as bytes on the wire (RFC 6455 §5.2: unmasked, with a 7-bit,
/// 16-bit or 64-bit payload length), so that a client's whole batch of messages goes to its socket
/// as one buffer instead of one pipeline write and frame header buffer per message.
enum WebSocketWire {
    /// Appends `message` as a text message: one frame, or a text frame and continuation frames of
    /// at most `maximumFramePayload` bytes each.
    static func appendText(_ message: ByteBuffer, maximumFramePayload: Int, to out: inout ByteBuffer) {
        var rest = message
        var first = true
        repeat {
            let part = rest.readSlice(length: min(maximumFramePayload, rest.readableBytes))!
            let fin: UInt8 = rest.readableBytes == 0 ? 0x80 : 0
            let opcode: UInt8 = first ? 0x1 : 0x0
            out.writeInteger(fin | opcode)
            let n = part.readableBytes
            if n < 126 {
                out.writeInteger(UInt8(n))
            } else if n <= Int(UInt16.max) {
                out.writeInteger(UInt8(126))
                out.writeInteger(UInt16(n))
            } else {
                out.writeInteger(UInt8(127))
                out.writeInteger(UInt64(n))
            }
            out.writeImmutableBuffer(part)
            first = false
        } while rest.readableBytes > 0
    }

    /// The bytes `appendText` writes for `message`.
    static func size(of message: ByteBuffer, maximumFramePayload: Int) -> Int {
        let n = message.readableBytes
        let frames = max(1, (n + maximumFramePayload - 1) / maximumFramePayload)
        return n + frames * 10
    }
}
