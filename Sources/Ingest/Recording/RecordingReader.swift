import Glibc

/// Reads a recording as a stream, one block in memory at a time.
///
/// Records come out in file order. A damaged file yields every record before the damage, then
/// throws a `RecordingError` naming the byte offset of the first bad block.
public final class RecordingReader {
    public let path: String
    public let header: RecordingHeader
    /// Total size of the file, for progress reporting.
    public let fileSize: Int64
    /// Offset of the next unread block.
    public private(set) var offset: Int64
    private let fd: Int32
    private var block: [UInt8] = []
    private var compressed: [UInt8] = []
    private let decompressor = ZstdDecompressor()

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RecordingError.io(path: path, operation: "open", errno: errno) }
        self.fd = fd
        var st = stat()
        fileSize = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        var fixed = [UInt8](repeating: 0, count: RecordingFormat.fixedHeaderSize)
        let got: Int
        do { got = try Self.readFully(fd, into: &fixed, path: path) } catch { close(fd); throw error }
        guard got >= RecordingFormat.magic.count, Array(fixed[0..<8]) == RecordingFormat.magic else {
            close(fd); throw RecordingError.notARecording(path: path)
        }
        guard got == RecordingFormat.fixedHeaderSize else {
            close(fd); throw RecordingError.truncated(path: path, offset: Int64(got), what: "file ends inside the header")
        }
        let version = fixed.loadLE(UInt16.self, at: 8)
        guard version == RecordingFormat.version else { close(fd); throw RecordingError.unsupportedVersion(path: path, version: version) }
        guard let payload = RecordingHeader.Payload(rawValue: fixed[10]),
              let transport = RecordingHeader.Transport(rawValue: fixed[11]) else {
            close(fd); throw RecordingError.corrupt(path: path, offset: 10, reason: "unknown payload format \(fixed[10]) or transport \(fixed[11])")
        }
        let sourceLength = Int(fixed.loadLE(UInt16.self, at: 20))
        guard sourceLength <= RecordingFormat.maximumSourceLength else {
            close(fd); throw RecordingError.corrupt(path: path, offset: 20, reason: "source length \(sourceLength) exceeds \(RecordingFormat.maximumSourceLength)")
        }
        var source = [UInt8](repeating: 0, count: sourceLength)
        let sourceGot: Int
        do { sourceGot = try Self.readFully(fd, into: &source, path: path) } catch { close(fd); throw error }
        guard sourceGot == sourceLength else {
            close(fd); throw RecordingError.truncated(path: path, offset: Int64(RecordingFormat.fixedHeaderSize + sourceGot), what: "file ends inside the header")
        }
        header = RecordingHeader(payload: payload, transport: transport, startTime: fixed.loadLE(Int64.self, at: 12),
                                 source: String(decoding: source, as: UTF8.self))
        offset = Int64(RecordingFormat.fixedHeaderSize + sourceLength)
    }

    deinit { Glibc.close(fd) }

    /// Calls `body` with every record of the next block (receive time, payload bytes valid only
    /// during the call). Returns the number of records, or `nil` at a clean end of file.
    public func nextBlock(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Int? {
        let blockOffset = offset
        var head = [UInt8](repeating: 0, count: RecordingFormat.blockHeaderSize)
        let got = try Self.readFully(fd, into: &head, path: path)
        if got == 0 { return nil }
        guard got == head.count else { throw RecordingError.truncated(path: path, offset: blockOffset, what: "file ends inside a block header") }
        guard Array(head[0..<4]) == RecordingFormat.blockMagic else {
            throw RecordingError.corrupt(path: path, offset: blockOffset, reason: "bad block magic")
        }
        let compressedSize = Int(head.loadLE(UInt32.self, at: 4))
        let size = Int(head.loadLE(UInt32.self, at: 8))
        let records = Int(head.loadLE(UInt32.self, at: 12))
        guard size <= RecordingFormat.maximumBlockSize, compressedSize <= RecordingFormat.maximumBlockSize + 65_536, compressedSize > 0 else {
            throw RecordingError.corrupt(path: path, offset: blockOffset, reason: "implausible block sizes (\(compressedSize) compressed, \(size) uncompressed)")
        }
        if compressed.count < compressedSize { compressed = [UInt8](repeating: 0, count: compressedSize) }
        let body0 = try compressed.withUnsafeMutableBytes { raw in
            try Self.readFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<compressedSize]), path: path)
        }
        guard body0 == compressedSize else {
            throw RecordingError.truncated(path: path, offset: blockOffset, what: "file ends inside a block (\(body0) of \(compressedSize) bytes)")
        }
        let failure = compressed.withUnsafeBytes { raw in
            decompressor.decompress(UnsafeRawBufferPointer(rebasing: raw[0..<compressedSize]), expectedSize: size, into: &block)
        }
        if let failure { throw RecordingError.corrupt(path: path, offset: blockOffset, reason: failure) }
        // Validate the record framing before handing anything out, so a block is all or nothing.
        var position = 0
        for _ in 0..<records {
            guard size - position >= RecordingFormat.recordHeaderSize else { position = -1; break }
            let length = Int(block.loadLE(UInt32.self, at: position + 8))
            guard length <= size - position - RecordingFormat.recordHeaderSize else { position = -1; break }
            position += RecordingFormat.recordHeaderSize + length
        }
        guard position == size else {
            throw RecordingError.corrupt(path: path, offset: blockOffset, reason: "record framing does not match the block header")
        }
        offset = blockOffset + Int64(RecordingFormat.blockHeaderSize + compressedSize)
        try block.withUnsafeBytes { raw in
            var p = 0
            for _ in 0..<records {
                let time = raw.loadUnaligned(fromByteOffset: p, as: Int64.self).littleEndian
                let length = Int(raw.loadUnaligned(fromByteOffset: p + 8, as: UInt32.self).littleEndian)
                let start = p + RecordingFormat.recordHeaderSize
                try body(time, UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
                p = start + length
            }
        }
        return records
    }

    /// Calls `body` with every record to the end of the file.
    public func forEachRecord(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        while try nextBlock(body) != nil {}
    }

    private static func readFully(_ fd: Int32, into buffer: inout [UInt8], path: String) throws -> Int {
        try buffer.withUnsafeMutableBytes { try readFully(fd, into: $0, path: path) }
    }

    /// Reads until `buffer` is full or end of file; returns the bytes read.
    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        var got = 0
        while got < buffer.count {
            let n = read(fd, buffer.baseAddress! + got, buffer.count - got)
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordingError.io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            got += n
        }
        return got
    }
}

extension [UInt8] {
    @inlinable
    package func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
