/// Fixed-offset big-endian fields of an exchange message (ITCH, MoldUDP64), read without
/// allocating. The caller has checked that the message is long enough for its layout.
public struct BigEndianBytes {
    public let bytes: UnsafeRawBufferPointer

    @inline(__always) public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always) public func u8(_ at: Int) -> UInt8 { bytes[at] }
    @inline(__always) public func u16(_ at: Int) -> UInt16 { UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    @inline(__always) public func u32(_ at: Int) -> UInt32 { UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    @inline(__always) public func i32(_ at: Int) -> Int32 { Int32(bitPattern: u32(at)) }
    @inline(__always) public func u64(_ at: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    /// A 6-byte unsigned integer (ITCH 5.0's nanoseconds since midnight).
    @inline(__always) public func u48(_ at: Int) -> UInt64 { UInt64(u16(at)) << 32 | UInt64(u32(at + 2)) }

    /// Up to 16 bytes of padded ASCII as an `ExchangeSymbol`.
    @inline(__always) public func symbol(_ at: Int, length: Int) -> ExchangeSymbol {
        ExchangeSymbol(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + min(length, 16))]))
    }

    /// Whether `length` bytes from `at` are all padding (space or NUL).
    public func isPadding(_ at: Int, length: Int) -> Bool {
        (at..<(at + length)).allSatisfy { bytes[$0] == 0x20 || bytes[$0] == 0 }
    }
}

/// A symbol as exchange messages carry it: up to 16 ASCII bytes, padded with spaces (or NULs),
/// kept as two integers so that decoding never allocates. `text` trims the padding.
public struct ExchangeSymbol: Hashable, Sendable, CustomStringConvertible {
    /// The bytes in order, high byte first, padded with spaces to 16.
    public let high: UInt64
    public let low: UInt64

    public init(_ bytes: UnsafeRawBufferPointer) {
        func byte(_ i: Int) -> UInt64 {
            guard i < bytes.count, bytes[i] != 0 else { return 0x20 }
            return UInt64(bytes[i])
        }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | byte(i) }
        for i in 8..<16 { l = l << 8 | byte(i) }
        high = h
        low = l
    }

    public init(_ text: String) {
        var text = text
        self = text.withUTF8 { ExchangeSymbol(UnsafeRawBufferPointer($0)) }
    }

    /// The symbol without its padding.
    public var text: String {
        var bytes: [UInt8] = []
        for word in [high, low] { for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) } }
        while bytes.last == 0x20 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { text }
}
