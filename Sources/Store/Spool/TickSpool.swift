import Aggregator
import Glibc
import Ingest
import Synchronization

/// The store writer's spool: batches that could not go to PostgreSQL yet, kept on local disk in
/// append-only, zstd-compressed segment files with CRC-32C checksums (format in `SpoolFormat`).
///
/// Durability: a record is written and `fdatasync`ed before `append` returns, and a new segment's
/// directory entry is `fsync`ed when the segment is created, so a batch the spool has accepted
/// survives a crash of the process or of the machine. Batches are read back lowest batch number
/// first; a segment file is deleted as soon as every batch in it is committed.
///
/// On opening, the spool scans what an earlier run left: a partial record at the end of a segment
/// (the process died while writing it, before it was accepted) is cut off; a record that fails its
/// checksum is reported and its segment is kept as `*.corrupt` for inspection, never deleted.
///
/// Thread-safe: the store's consumer thread appends while its committer reads and removes.
public final class TickSpool: Sendable {
    public struct Options: Sendable {
        public var directory: String
        /// The most disk the segment files may take; an append beyond it fails with `.full`.
        public var maximumBytes: Int64 = 8 << 30
        /// A segment is closed and a new one started beyond this size.
        public var segmentBytes: Int64 = 64 << 20
        public init(directory: String) { self.directory = directory }
    }

    public enum AppendError: Error, CustomStringConvertible {
        case full(bytes: Int64, limit: Int64)
        case io(String)

        public var description: String {
            switch self {
            case .full(let bytes, let limit): "the spool is full (\(bytes) of \(limit) bytes)"
            case .io(let message): message
            }
        }
    }

    public struct ReadError: Error, CustomStringConvertible {
        public var number: Int64
        public var message: String
        public var description: String { "spooled batch \(number): \(message)" }
    }

    /// The daemon's symbols; names that only old segments mention are recalled into them.
    public let symbols: SymbolUniverse
    /// The highest sequence number per feed among the batches an earlier run left here: with the
    /// database's checkpoints, where sequence tracking resumes.
    public let recoveredHighest: [UInt16: UInt64]
    public let options: Options

    private struct Segment {
        var path: String
        var fd: Int32
        var size: Int64
        var live = 0
        /// Row symbol index → id in `symbols` (in a segment this run made, the identity: its
        /// header lists the universe as it stood).
        var symbolIDs: [SymbolID]
        var damaged = false
    }

    private struct Entry {
        var number: Int64
        var segment: Int
        var offset: Int64
        var header: SpoolFormat.RecordHeader
    }

    private struct State {
        var segments: [Int: Segment] = [:]
        /// Sorted by batch number.
        var entries: [Entry] = []
        var active: Int?
        var nextSegment = 1
        var bytes: Int64 = 0
    }

    private let state: Mutex<State>
    private let log: @Sendable (String) -> Void

    /// Opens (creating it if needed) the spool directory and recovers what an earlier run left.
    public init(options: Options, symbols: SymbolUniverse, log: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.log = log
        try Self.makeDirectories(options.directory)
        var recovered = State()
        for (id, name) in try Self.segmentFiles(in: options.directory) {
            recovered.nextSegment = max(recovered.nextSegment, id + 1)
            Self.recover(path: options.directory + "/" + name, id: id, into: &recovered, symbols: symbols, log: log)
        }
        self.symbols = symbols
        var highest: [UInt16: UInt64] = [:]
        for e in recovered.entries {
            highest.merge(e.header.highest, uniquingKeysWith: max)
        }
        recoveredHighest = highest
        state = Mutex(recovered)
        if !recovered.entries.isEmpty {
            log("spool: \(recovered.entries.count) batches (\(recovered.bytes) bytes) in \(options.directory) from an earlier run; draining them first")
        }
    }

    deinit {
        state.withLock { s in
            for segment in s.segments.values { close(segment.fd) }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
    public var isEmpty: Bool { state.withLock { $0.entries.isEmpty } }
    /// Bytes of segment files on disk.
    public var bytes: Int64 { state.withLock { $0.bytes } }
    public var lowestNumber: Int64? { state.withLock { $0.entries.first?.number } }
    public var highestNumber: Int64? { state.withLock { $0.entries.last?.number } }

    /// The lowest-numbered batches, in order, below `limit`: as many as fit in `maximumTicks`
    /// together (always at least one when any is below `limit`).
    public func lowestNumbers(below limit: Int64, maximumTicks: Int) -> [Int64] {
        state.withLock { s in
            var out: [Int64] = []
            var ticks = 0
            for e in s.entries {
                guard e.number < limit, out.isEmpty || ticks + e.header.tickCount <= maximumTicks else { break }
                out.append(e.number)
                ticks += e.header.tickCount
            }
            return out
        }
    }

    /// Compresses and durably appends one batch: its ticks, the candles to rebuild once they are
    /// stored, and its top-of-book snapshots. Returns the bytes it took.
    @discardableResult
    public func append(number: Int64, ticks: [Tick], candles: [CandleKey] = [], snapshots: [BookSnapshot] = []) throws(AppendError) -> Int {
        let record = SpoolFormat.record(number: number, ticks: ticks, candles: candles, snapshots: snapshots, compressor: ZstdCompressor(level: 1))
        let options = options
        return try state.withLock { (s) throws(AppendError) -> Int in
            if let a = s.active, let segment = s.segments[a], segment.live > 0, segment.size + Int64(record.count) > options.segmentBytes {
                s.active = nil
            }
            // A symbol joined since the segment was made: its header cannot name it, so a new one.
            if let a = s.active, s.segments[a]!.symbolIDs.count < symbols.count { s.active = nil }
            // Every id in the batch was given out before the batch was made: the list has them all.
            let names = s.active == nil ? symbols.names(from: 0) : []
            let header = s.active == nil ? SpoolFormat.segmentHeader(symbols: names) : []
            let needed = Int64(record.count + header.count)
            guard s.bytes + needed <= options.maximumBytes else { throw .full(bytes: s.bytes, limit: options.maximumBytes) }
            if s.active == nil {
                let id = s.nextSegment
                let path = options.directory + "/" + Self.fileName(id)
                let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
                guard fd >= 0 else { throw .io("spool: cannot create \(path): \(SystemError.message(errno))") }
                guard Self.writeAll(fd, header, at: 0), fdatasync(fd) == 0, Self.syncDirectory(options.directory) else {
                    let e = errno
                    close(fd)
                    unlink(path)
                    throw .io("spool: cannot write \(path): \(SystemError.message(e))")
                }
                s.nextSegment += 1
                s.segments[id] = Segment(path: path, fd: fd, size: Int64(header.count), symbolIDs: names.indices.map { SymbolID(UInt32($0)) })
                s.active = id
                s.bytes += Int64(header.count)
            }
            let id = s.active!
            var segment = s.segments[id]!
            guard Self.writeAll(segment.fd, record, at: segment.size), fdatasync(segment.fd) == 0 else {
                let e = errno
                _ = ftruncate(segment.fd, off_t(segment.size))
                throw .io("spool: cannot write \(segment.path): \(SystemError.message(e))")
            }
            let parsed = try! SpoolFormat.parseRecordHeader(record[...]).get()
            let entry = Entry(number: number, segment: id, offset: segment.size, header: parsed)
            segment.size += Int64(record.count)
            segment.live += 1
            s.segments[id] = segment
            s.bytes += Int64(record.count)
            s.entries.insert(entry, at: Self.insertionIndex(of: number, in: s.entries))
            return record.count
        }
    }

    /// Reads a spooled batch back.
    public func read(_ number: Int64) throws(ReadError) -> SpooledBatch {
        guard let (entry, fd, ids) = state.withLock({ s -> (Entry, Int32, [SymbolID])? in
            guard let i = Self.index(of: number, in: s.entries) else { return nil }
            let e = s.entries[i]
            return (e, s.segments[e.segment]!.fd, s.segments[e.segment]!.symbolIDs)
        }) else { throw ReadError(number: number, message: "not in the spool") }
        // Only the committer removes (and so closes) segments, and it is the only reader.
        var record = [UInt8](repeating: 0, count: entry.header.totalLength)
        let n = record.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(entry.offset)) }
        guard n == record.count else {
            throw ReadError(number: number, message: n < 0 ? SystemError.message(errno) : "short read")
        }
        switch SpoolFormat.decode(record: record, header: entry.header, symbols: ids, decompressor: ZstdDecompressor()) {
        case .success(let batch): return batch
        case .failure(let why): throw ReadError(number: number, message: "\(why)")
        }
    }

    /// Forgets a batch (committed, or unreadable: `damaged`), deleting its segment file once empty.
    /// A damaged segment is renamed to `*.corrupt` instead, so nothing unreadable is deleted.
    public func remove(_ number: Int64, damaged: Bool = false) {
        state.withLock { s in
            guard let i = Self.index(of: number, in: s.entries) else { return }
            let id = s.entries.remove(at: i).segment
            var segment = s.segments[id]!
            segment.live -= 1
            segment.damaged = segment.damaged || damaged
            s.segments[id] = segment
            if segment.live == 0 {
                retire(id, &s)
            }
        }
    }

    private func retire(_ id: Int, _ s: inout State) {
        let segment = s.segments.removeValue(forKey: id)!
        close(segment.fd)
        s.bytes -= segment.size
        if s.active == id { s.active = nil }
        if segment.damaged {
            rename(segment.path, segment.path + ".corrupt")
            log("spool: kept \(segment.path).corrupt for inspection; it held a batch that could not be read")
        } else {
            unlink(segment.path)
        }
    }

    // MARK: - Recovery

    private static func recover(path: String, id: Int, into s: inout State, symbols: SymbolUniverse, log: (String) -> Void) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            log("spool: cannot open \(path): \(SystemError.message(errno)); leaving it alone")
            return
        }
        var st = stat()
        fstat(fd, &st)
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == bytes.count else {
            log("spool: cannot read \(path): \(SystemError.message(errno)); leaving it alone")
            close(fd)
            return
        }
        func setAside(_ why: String) {
            close(fd)
            rename(path, path + ".corrupt")
            log("spool: \(path): \(why); renamed to \(path).corrupt")
        }
        let names: [String]
        var offset: Int
        let version: UInt16
        switch SpoolFormat.parseSegmentHeader(bytes) {
        case .failure(.truncated):
            // Created but never given a record: nothing was accepted into it.
            close(fd)
            unlink(path)
            return
        case .failure(let why):
            return setAside("\(why)")
        case .success(let header):
            names = header.symbols
            offset = header.length
            version = header.version
        }
        var ids: [SymbolID] = []
        for name in names {
            guard let id = try? symbols.recall(name) else { return setAside("invalid symbol name in the header") }
            ids.append(id)
        }
        var segment = Segment(path: path, fd: fd, size: Int64(bytes.count), symbolIDs: ids)
        var found: [Entry] = []
        while offset < bytes.count {
            let header: SpoolFormat.RecordHeader
            switch SpoolFormat.parseRecordHeader(bytes[offset...], version: version) {
            case .success(let h) where offset + h.totalLength <= bytes.count:
                header = h
            case .success, .failure(.truncated):
                log("spool: \(path) ends with a partial record at byte \(offset) (the process stopped while writing it, before it was accepted); cutting it off")
                _ = ftruncate(fd, off_t(offset))
                segment.size = Int64(offset)
                bytes.removeSubrange(offset...)
                continue
            case .failure(let why):
                log("spool: \(path): \(why) at byte \(offset); the batches before it are kept, the rest of the file is unreadable")
                segment.damaged = true
                offset = bytes.count
                continue
            }
            if !bytes.withUnsafeBytes({ SpoolFormat.checksumMatches($0, at: offset, header) }) {
                log("spool: \(path): batch \(header.number) at byte \(offset) fails its checksum; skipping it")
                segment.damaged = true
            } else if s.entries.contains(where: { $0.number == header.number }) {
                log("spool: \(path): batch \(header.number) at byte \(offset) is spooled twice; keeping the first copy")
            } else {
                found.append(Entry(number: header.number, segment: id, offset: Int64(offset), header: header))
            }
            offset += header.totalLength
        }
        segment.live = found.count
        s.segments[id] = segment
        s.bytes += segment.size
        for e in found { s.entries.insert(e, at: insertionIndex(of: e.number, in: s.entries)) }
        if found.isEmpty {
            if segment.damaged {
                s.segments.removeValue(forKey: id)
                s.bytes -= segment.size
                setAside("no readable batch left")
            } else {
                s.segments.removeValue(forKey: id)
                s.bytes -= segment.size
                close(fd)
                unlink(path)
            }
        }
    }

    // MARK: - Files

    static func fileName(_ id: Int) -> String {
        let digits = String(id)
        return "segment-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".akspool"
    }

    private static func segmentFiles(in directory: String) throws -> [(Int, String)] {
        guard let dir = opendir(directory) else {
            throw StoreError("spool: cannot list \(directory): \(SystemError.message(errno))")
        }
        defer { closedir(dir) }
        var out: [(Int, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name.hasPrefix("segment-"), name.hasSuffix(".akspool"),
                  let id = Int(name.dropFirst(8).dropLast(8)) else { continue }
            out.append((id, name))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o750) != 0 && errno != EEXIST {
                throw StoreError("spool: cannot create directory \(prefix): \(SystemError.message(errno))")
            }
        }
        guard access(path, W_OK) == 0 else { throw StoreError("spool: directory \(path) is not writable: \(SystemError.message(errno))") }
    }

    private static func syncDirectory(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return fsync(fd) == 0
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    private static func index(of number: Int64, in entries: [Entry]) -> Int? {
        let i = insertionIndex(of: number, in: entries)
        return i < entries.count && entries[i].number == number ? i : nil
    }

    /// The first position whose number is not below `number`.
    private static func insertionIndex(of number: Int64, in entries: [Entry]) -> Int {
        if let last = entries.last, last.number < number { return entries.count }
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].number < number { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
