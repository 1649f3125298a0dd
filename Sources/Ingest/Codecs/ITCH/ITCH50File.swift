import Foundation

/// A recorded ITCH 5.0 file: each message after a 2-byte big-endian length. Some published
/// samples leave the lengths zero; then the length comes from the message's type. A length that
/// disagrees with the type's size, an unknown type or a cut-off message ends the read with an
/// error saying where.
public struct ITCH50File {
    public let path: String

    public struct ReadError: Error, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "ITCH 5.0 file, byte \(offset): \(reason)" }
    }

    public init(path: String) { self.path = path }

    /// Calls `body` with every message's bytes (type byte first) in file order; the count read.
    @discardableResult
    public func forEachMessage(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReadError(offset: 0, reason: "cannot read \(path)") }
        return try data.withUnsafeBytes { all in
            var at = 0
            var count = 0
            while at < all.count {
                guard at + 3 <= all.count else { throw ReadError(offset: at, reason: "the file ends inside a length prefix") }
                let declared = Int(BigEndianBytes(all).u16(at))
                let type = all[at + 2]
                guard let size = NasdaqITCH50.size(of: type) else { throw ReadError(offset: at + 2, reason: "unknown message type \(type)") }
                guard declared == 0 || declared == size else {
                    throw ReadError(offset: at, reason: "length \(declared) for a '\(Character(Unicode.Scalar(type)))' message of \(size) bytes")
                }
                guard at + 2 + size <= all.count else { throw ReadError(offset: at, reason: "the file ends inside a message") }
                try body(UnsafeRawBufferPointer(rebasing: all[(at + 2)..<(at + 2 + size)]))
                at += 2 + size
                count += 1
            }
            return count
        }
    }
}
