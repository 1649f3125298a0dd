/// The recording file format (see docs/feed-formats.md):
///
/// ```
/// header: "AKISREC\0" | version u16 | payload format u8 | transport u8 | start time i64 ns |
///         source length u16 | source UTF-8
/// blocks: "AKBL" | compressed length u32 | uncompressed length u32 | record count u32 | zstd frame
/// records (inside a block): receive time i64 ns | payload length u32 | payload bytes
/// ```
/// All integers little-endian. Every zstd frame carries a content checksum.
public enum RecordingFormat {
    public static let magic: [UInt8] = Array("AKISREC\0".utf8)
    public static let version: UInt16 = 1
    public static let blockMagic: [UInt8] = Array("AKBL".utf8)
    public static let fixedHeaderSize = 22
    public static let blockHeaderSize = 16
    public static let recordHeaderSize = 12
    public static let maximumSourceLength = 1024
    /// Largest uncompressed block a reader accepts; writers stay far below it.
    public static let maximumBlockSize = 16 << 20
    /// A single record's payload limit (one read or datagram).
    public static let maximumPayloadSize = 4 << 20
}

/// What a recording holds, stated once at the start of the file.
public struct RecordingHeader: Sendable, Equatable {
    public enum Transport: UInt8, Sendable { case unknown = 0, tcp = 1, udp = 2 }
    public enum Payload: UInt8, Sendable {
        /// `bistITCH`: one MoldUDP64 packet per record.
        case raw = 0, binary = 1, jsonLines = 2, bistITCH = 3
        public init(_ format: FeedFormat) {
            switch format {
            case .binary: self = .binary
            case .jsonLines: self = .jsonLines
            case .bistITCH: self = .bistITCH
            case .algolab: self = .raw
            }
        }
        public var feedFormat: FeedFormat? {
            switch self { case .binary: .binary; case .jsonLines: .jsonLines; case .bistITCH: .bistITCH; case .raw: nil }
        }
    }

    public var payload: Payload
    public var transport: Transport
    /// When recording started, nanoseconds since the epoch (UTC).
    public var startTime: Int64
    /// Free text naming where the bytes came from, e.g. `tcp://0.0.0.0:9000` or `synth seed=1`.
    public var source: String

    public init(payload: Payload, transport: Transport, startTime: Int64, source: String) {
        self.payload = payload
        self.transport = transport
        self.startTime = startTime
        self.source = String(decoding: Array(source.utf8.prefix(RecordingFormat.maximumSourceLength)), as: UTF8.self)
    }
}

/// Why a recording could not be written or read. Read errors name the byte offset where the
/// problem starts; everything before that offset was delivered.
public enum RecordingError: Error, Equatable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    case exists(path: String)
    case notARecording(path: String)
    case unsupportedVersion(path: String, version: UInt16)
    case truncated(path: String, offset: Int64, what: String)
    case corrupt(path: String, offset: Int64, reason: String)
    case payloadTooLarge(Int)

    public var description: String {
        switch self {
        case .io(let path, let op, let e): "\(path): \(op) failed: \(SystemError.message(e))"
        case .exists(let path): "\(path) already exists (pass --force to overwrite it)"
        case .notARecording(let path): "\(path) is not an Akis recording (bad magic)"
        case .unsupportedVersion(let path, let v): "\(path): recording format version \(v) is not supported (this build reads version \(RecordingFormat.version))"
        case .truncated(let path, let offset, let what): "\(path): truncated at byte offset \(offset): \(what)"
        case .corrupt(let path, let offset, let reason): "\(path): corrupt data at byte offset \(offset): \(reason)"
        case .payloadTooLarge(let n): "record payload of \(n) bytes exceeds the limit of \(RecordingFormat.maximumPayloadSize)"
        }
    }
}
