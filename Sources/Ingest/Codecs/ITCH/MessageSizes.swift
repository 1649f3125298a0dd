/// The fixed size of each message type of an exchange protocol (ITCH), type byte included.
public struct MessageSizes: Sendable {
    private let sizes: [UInt8]

    public init(_ table: KeyValuePairs<Character, Int>) {
        var s = [UInt8](repeating: 0, count: 256)
        for (type, size) in table { s[Int(type.asciiValue!)] = UInt8(size) }
        sizes = s
    }

    /// The size of a message of `type`; nil for a type the protocol does not have.
    public func size(of type: UInt8) -> Int? {
        let s = sizes[Int(type)]
        return s == 0 ? nil : Int(s)
    }

    /// The type of the one message that `bytes` holds exactly, or why they are not one.
    public func type(of bytes: UnsafeRawBufferPointer) -> Result<UInt8, FrameError> {
        guard let type = bytes.first else { return .failure(.truncated(available: 0)) }
        guard let size = size(of: type) else { return .failure(.badMessageType(type)) }
        guard bytes.count == size else { return .failure(bytes.count < size ? .truncated(available: bytes.count) : .badLength(bytes.count)) }
        return .success(type)
    }
}
