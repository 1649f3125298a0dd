/// MoldUDP64 packets, as exchanges carry ITCH over UDP: a 20-byte header (`Session[10]` ASCII,
/// `Sequence` u64 of the first message, `Count` u16; big-endian), then `Count` blocks of a u16
/// length and a message. `Count` 0 is a heartbeat (`Sequence` is the next one expected), 0xFFFF
/// the end of the session. A retransmission request is a bare header sent to the rewinder.
public struct MoldUDP64Packet {
    public static let headerSize = 20
    public static let endOfSession: UInt16 = 0xFFFF

    /// The session's ten ASCII bytes, as one value.
    public struct Session: Hashable, Sendable, CustomStringConvertible {
        public let high: UInt64
        public let low: UInt16
        public init(high: UInt64, low: UInt16) {
            self.high = high
            self.low = low
        }

        public init(_ text: String) {
            var bytes = Array(text.utf8.prefix(10))
            while bytes.count < 10 { bytes.append(0x20) }
            high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            low = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        }

        /// Its ten bytes, as on the wire.
        public var bytes: [UInt8] { bigEndianBytes(high) + bigEndianBytes(low) }

        public var description: String { String(decoding: bytes, as: UTF8.self).trimmingTrailingSpaces }
    }

    public let session: Session
    /// The first message's sequence number (a heartbeat's: the next expected).
    public let sequence: UInt64
    public let count: UInt16
    /// The blocks after the header.
    public let blocks: UnsafeRawBufferPointer

    public var isHeartbeat: Bool { count == 0 }
    public var isEndOfSession: Bool { count == Self.endOfSession }
    /// The number of messages it carries (none for a heartbeat or the end of session).
    public var messageCount: Int { isEndOfSession ? 0 : Int(count) }

    /// Reads a packet's header; the blocks are checked as they are walked (`forEachMessage`).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<MoldUDP64Packet, FrameError> {
        guard bytes.count >= headerSize else { return .failure(.truncated(available: bytes.count)) }
        let b = BigEndianBytes(bytes)
        return .success(MoldUDP64Packet(session: Session(high: b.u64(0), low: b.u16(8)), sequence: b.u64(10), count: b.u16(18),
                                        blocks: UnsafeRawBufferPointer(rebasing: bytes[headerSize...])))
    }

    /// Calls `body` with each message and its sequence number, in order. A block that runs past
    /// the packet, or bytes left after the last block, end the walk with an error; the messages
    /// before it were delivered.
    public func forEachMessage(_ body: (UInt64, UnsafeRawBufferPointer) -> Void) -> FrameError? {
        var at = 0
        for i in 0..<messageCount {
            guard at + 2 <= blocks.count else { return .truncated(available: blocks.count - at) }
            let length = Int(BigEndianBytes(blocks).u16(at))
            guard at + 2 + length <= blocks.count else { return .truncated(available: blocks.count - at - 2) }
            body(sequence + UInt64(i), UnsafeRawBufferPointer(rebasing: blocks[(at + 2)..<(at + 2 + length)]))
            at += 2 + length
        }
        return at == blocks.count ? nil : .badLength(blocks.count)
    }

    /// A retransmission request for `count` messages from `sequence`.
    public static func request(session: Session, sequence: UInt64, count: UInt16) -> [UInt8] {
        session.bytes + bigEndianBytes(sequence) + bigEndianBytes(count)
    }

    /// A packet with `messages` from `sequence` (for synthetic feeds and test servers).
    public static func packet(session: Session, sequence: UInt64, messages: [[UInt8]]) -> [UInt8] {
        var out = request(session: session, sequence: sequence, count: UInt16(messages.count))
        for m in messages { out += bigEndianBytes(UInt16(m.count)) + m }
        return out
    }
}

private func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

private extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
