import Glibc

/// Appends records to a recording file, in zstd-compressed blocks.
///
/// A block is written when it reaches `blockSize` uncompressed bytes or when `flush()` is called
/// (the recorder flushes at least once a second, so a crash loses at most that much).
public final class RecordingWriter {
    public let path: String
    public private(set) var recordCount: UInt64 = 0
    public private(set) var bytesWritten: Int64 = 0
    private let fd: Int32
    private let blockSize: Int
    private var block: [UInt8] = []
    private var blockRecords: UInt32 = 0
    private var compressed: [UInt8] = []
    private let compressor = ZstdCompressor()

    /// Creates `path` and writes the header. Refuses to replace an existing file unless `overwrite`.
    public init(path: String, header: RecordingHeader, overwrite: Bool = false, blockSize: Int = 1 << 20) throws {
        self.path = path
        self.blockSize = min(blockSize, RecordingFormat.maximumBlockSize / 2)
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o644)
        if fd < 0 {
            if errno == EEXIST { throw RecordingError.exists(path: path) }
            throw RecordingError.io(path: path, operation: "create", errno: errno)
        }
        self.fd = fd
        block.reserveCapacity(self.blockSize + 64 * 1024)
        var h: [UInt8] = RecordingFormat.magic
        h.appendLE(RecordingFormat.version)
        h.append(header.payload.rawValue)
        h.append(header.transport.rawValue)
        h.appendLE(header.startTime)
        let source = Array(header.source.utf8)
        h.appendLE(UInt16(source.count))
        h += source
        try writeAll(h)
    }

    deinit { Glibc.close(fd) }

    /// Adds one record (one read's or one datagram's bytes, received at `receiveTime`).
    public func append(receiveTime: Int64, payload: UnsafeRawBufferPointer) throws {
        guard payload.count <= RecordingFormat.maximumPayloadSize else { throw RecordingError.payloadTooLarge(payload.count) }
        block.appendLE(receiveTime)
        block.appendLE(UInt32(payload.count))
        block.append(contentsOf: payload)
        blockRecords += 1
        recordCount += 1
        if block.count >= blockSize { try flush() }
    }

    public func append(receiveTime: Int64, payload: [UInt8]) throws {
        try payload.withUnsafeBytes { try append(receiveTime: receiveTime, payload: $0) }
    }

    /// Compresses and writes the pending block, if any.
    public func flush() throws {
        guard blockRecords > 0 else { return }
        let n = block.withUnsafeBytes { compressor.compress($0, into: &compressed) }
        var header: [UInt8] = RecordingFormat.blockMagic
        header.appendLE(UInt32(n))
        header.appendLE(UInt32(block.count))
        header.appendLE(blockRecords)
        try writeAll(header)
        try compressed.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        block.removeAll(keepingCapacity: true)
        blockRecords = 0
    }

    /// Writes the last block and forces the file to disk.
    public func close() throws {
        try flush()
        if fsync(fd) != 0 { throw RecordingError.io(path: path, operation: "fsync", errno: errno) }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordingError.io(path: path, operation: "write", errno: errno)
            }
            offset += n
        }
        bytesWritten += Int64(bytes.count)
    }
}

extension [UInt8] {
    @inlinable
    package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
