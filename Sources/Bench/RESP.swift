import NIOCore

/// The part of Redis's protocol (RESP2) a pub/sub baseline needs: commands out, and the arrays
/// Redis pushes to a subscriber (`subscribe` confirmations and `message`s) in.
public enum RESP {
    /// One element of a pushed array.
    public enum Value: Equatable, Sendable {
        case bulk(ByteBuffer)
        case integer(Int64)
        case simple(String)
        case error(String)
        case null
    }

    /// Appends a command as an array of bulk strings (`*N\r\n$len\r\n…\r\n`).
    public static func appendCommand(_ parts: [[UInt8]], to out: inout [UInt8]) {
        out.append(contentsOf: Array("*\(parts.count)\r\n".utf8))
        for part in parts {
            out.append(contentsOf: Array("$\(part.count)\r\n".utf8))
            out.append(contentsOf: part)
            out.append(contentsOf: [13, 10])
        }
    }
}

/// Decodes what Redis sends a subscriber: arrays of bulk strings and integers (pushes), or a
/// lone error or status line. Anything else is a protocol error.
public struct RESPPushDecoder: ByteToMessageDecoder {
    public typealias InboundOut = [RESP.Value]

    public init() {}

    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        var view = buffer
        guard let message = try Self.parse(&view) else { return .needMoreData }
        buffer = view
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    /// One whole message from the front of `buffer` (consumed), or nil if it is not all there yet.
    static func parse(_ buffer: inout ByteBuffer) throws -> [RESP.Value]? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if type == UInt8(ascii: "*") {
            guard let count = try header(&buffer) else { return nil }
            var values: [RESP.Value] = []
            values.reserveCapacity(Int(max(0, count)))
            for _ in 0..<max(0, count) {
                guard let value = try element(&buffer) else { return nil }
                values.append(value)
            }
            return values
        }
        return try element(&buffer).map { [$0] }
    }

    private static func element(_ buffer: inout ByteBuffer) throws -> RESP.Value? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "$"):
            guard let length = try header(&buffer) else { return nil }
            if length < 0 { return .null }
            guard buffer.readableBytes >= Int(length) + 2, let data = buffer.readSlice(length: Int(length)) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(data)
        case UInt8(ascii: ":"):
            return try header(&buffer).map { .integer($0) }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let end = lineEnd(buffer) else { return nil }
            buffer.moveReaderIndex(forwardBy: 1)
            let text = buffer.readString(length: end - buffer.readerIndex - 1) ?? ""
            buffer.moveReaderIndex(forwardBy: 2)
            return type == UInt8(ascii: "+") ? .simple(text) : .error(text)
        default:
            throw ProtocolError(description: "unexpected RESP type byte \(type)")
        }
    }

    /// The index of the LF ending the line at the reader index, or nil if it has not come.
    private static func lineEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in bytes.firstIndex(of: 10).map { buffer.readerIndex + $0 } }
    }

    /// A type byte and a decimal number ended by CRLF (`*3`, `$7`, `:1`), consumed; nil if incomplete.
    private static func header(_ buffer: inout ByteBuffer) throws -> Int64? {
        let parsed: (value: Int64, length: Int)?? = try buffer.withUnsafeReadableBytes { bytes in
            var i = 1
            var negative = false
            if i < bytes.count && bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var value: Int64 = 0
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                guard digits < 18 else { throw ProtocolError(description: "a RESP number longer than 18 digits") }
                value = value * 10 + Int64(bytes[i] - 0x30)
                digits += 1
                i += 1
            }
            guard i + 1 < bytes.count else {
                if bytes.count > 32 { throw ProtocolError(description: "a RESP header that is not a number") }
                return .some(nil)
            }
            guard digits > 0, bytes[i] == 13, bytes[i + 1] == 10 else { throw ProtocolError(description: "a RESP length or integer that is not a number") }
            return (negative ? -value : value, i + 2)
        }
        guard let header = parsed ?? nil else { return nil }
        buffer.moveReaderIndex(forwardBy: header.length)
        return header.value
    }
}
