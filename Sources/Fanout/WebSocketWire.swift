import NIOCore

/// Server-to-client WebSocket frames as bytes on the wire (RFC 6455 §5.2: unmasked, with a 7-bit,
/// 16-bit or 64-bit payload length), so that a client's whole batch of messages goes to its socket
/// as one buffer instead of one pipeline write and frame header buffer per message.
enum WebSocketWire {
    /// Appends `message` as a text message: one frame, or a text frame and continuation frames of
    /// at most `maximumFramePayload` bytes each.
    static func appendText(_ message: ByteBuffer, maximumFramePayload: Int, to out: inout ByteBuffer) {
        // Straight from the message's bytes: no slices, so no reference counting per frame.
        message.withUnsafeReadableBytes { bytes in
            var offset = 0
            repeat {
                let n = min(maximumFramePayload, bytes.count - offset)
                let fin: UInt8 = offset + n == bytes.count ? 0x80 : 0
                let opcode: UInt8 = offset == 0 ? 0x1 : 0x0
                if n < 126 {
                    out.writeInteger(UInt16(fin | opcode) << 8 | UInt16(n))
                } else if n <= Int(UInt16.max) {
                    out.writeInteger(UInt16(fin | opcode) << 8 | 126)
                    out.writeInteger(UInt16(n))
                } else {
                    out.writeInteger(UInt16(fin | opcode) << 8 | 127)
                    out.writeInteger(UInt64(n))
                }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                offset += n
            } while offset < bytes.count
        }
    }

    /// The bytes `appendText` writes for `message`.
    static func size(of message: ByteBuffer, maximumFramePayload: Int) -> Int {
        let n = message.readableBytes
        let frames = max(1, (n + maximumFramePayload - 1) / maximumFramePayload)
        return n + frames * 10
    }
}
