import CLibUring
import Glibc

/// io_uring, either with multishot receives into a registered ring of provided buffers (one
/// submission keeps delivering; the kernel picks a free buffer for each completion, and the
/// buffer goes back to it as soon as the reader has decoded it), or with one plain receive per
/// completion into a buffer of the connection's own.
public final class URingEngine: FeedIOEngine {
    public let receivePath: ReceivePath
    private let ring: OpaquePointer
    private let bufferSize: Int
    private var completions: [akis_uring_completion]
    /// Single-receive mode: the buffer armed for each token.
    private var ownBuffers: [UInt64: UnsafeMutableRawBufferPointer] = [:]
    private static let cancelToken = UInt64.max
    private let flagMore = akis_uring_flag_more()
    private let flagBuffer = akis_uring_flag_buffer()
    private let bufferShift = akis_uring_buffer_shift()

    public init(multishot: Bool, bufferSize: Int, bufferCount: Int) throws {
        var error: Int32 = 0
        let entries: UInt32 = 256
        guard let ring = akis_uring_create(entries, multishot ? UInt32(bufferCount) : 0, UInt32(bufferSize), &error) else {
            throw IOEngineError(operation: multishot ? "set up io_uring with \(bufferCount) provided buffers" : "set up io_uring", errnoCode: error)
        }
        self.ring = ring
        self.bufferSize = bufferSize
        receivePath = multishot ? .multishot : .recv
        completions = [akis_uring_completion](repeating: akis_uring_completion(), count: Int(entries) * 4)
    }

    deinit {
        akis_uring_destroy(ring)
        for buffer in ownBuffers.values { buffer.deallocate() }
    }

    private func check(_ rc: Int32, _ operation: String) throws {
        if rc < 0 { throw IOEngineError(operation: operation, errnoCode: -rc) }
    }

    public func accept(listener fd: Int32, token: UInt64) throws {
        try check(akis_uring_accept(ring, fd, token), "queue an accept")
    }

    public func connect(_ fd: Int32, to address: UnsafeRawPointer, length: UInt32, token: UInt64) throws {
        try check(akis_uring_connect(ring, fd, address, length, token), "queue a connect")
    }

    public func receive(_ fd: Int32, token: UInt64) throws {
        if receivePath == .multishot {
            try check(akis_uring_recv_multishot(ring, fd, token), "queue a multishot receive")
            return
        }
        let buffer = ownBuffers[token] ?? {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
            ownBuffers[token] = b
            return b
        }()
        try check(akis_uring_recv(ring, fd, buffer.baseAddress, UInt32(buffer.count), token), "queue a receive")
    }

    public func cancel(token: UInt64) throws {
        try check(akis_uring_cancel(ring, token, Self.cancelToken), "queue a cancel")
    }

    public func forget(token: UInt64) {
        ownBuffers.removeValue(forKey: token)?.deallocate()
    }

    public func wait(timeoutNanos: Int64, _ body: (IOCompletion) -> Void) throws {
        let n = completions.withUnsafeMutableBufferPointer { akis_uring_run(ring, $0.baseAddress, UInt32($0.count), max(0, timeoutNanos)) }
        try check(n, "wait for io_uring completions")
        for i in 0..<Int(n) {
            let c = completions[i]
            // The cancel request's own completion: the cancelled operation reports for itself.
            if c.token == Self.cancelToken { continue }
            var completion = IOCompletion(token: c.token, result: c.res, bytes: UnsafeRawBufferPointer(start: nil, count: 0),
                                          more: c.flags & flagMore != 0)
            if c.flags & flagBuffer != 0 {
                let id = UInt16(truncatingIfNeeded: c.flags >> bufferShift)
                if c.res > 0 { completion.bytes = UnsafeRawBufferPointer(start: akis_uring_buffer(ring, id), count: Int(c.res)) }
                body(completion)
                akis_uring_recycle(ring, id)
                continue
            }
            if c.res > 0, let own = ownBuffers[c.token] {
                completion.bytes = UnsafeRawBufferPointer(start: own.baseAddress, count: Int(c.res))
            }
            body(completion)
        }
    }
}
