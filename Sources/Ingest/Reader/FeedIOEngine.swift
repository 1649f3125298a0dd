/// One finished (or still running, when `more` is set) socket operation.
///
/// `result` follows the kernel's convention: bytes received, a new descriptor (accept), 0 (end of
/// stream, or a connect that succeeded), or a negated errno. `bytes` is only valid inside the
/// `wait` callback that delivers it: the buffer goes back to the kernel right after.
public struct IOCompletion {
    public var token: UInt64
    public var result: Int32
    public var bytes: UnsafeRawBufferPointer
    /// The operation stays armed and will complete again (a multishot receive).
    public var more: Bool
}

/// The feed reader's view of the kernel: arm socket operations, then wait for completions.
///
/// Three implementations share the reader's logic: io_uring with multishot receives into provided
/// buffers, io_uring with one plain receive per completion, and poll(2) when io_uring cannot be set
/// up. An engine belongs to one thread.
public protocol FeedIOEngine: AnyObject {
    var receivePath: ReceivePath { get }
    /// Accepts one connection on a listening socket.
    func accept(listener fd: Int32, token: UInt64) throws
    /// Connects `fd` to `address` (a `sockaddr` that stays valid until the completion arrives).
    func connect(_ fd: Int32, to address: UnsafeRawPointer, length: UInt32, token: UInt64) throws
    /// Starts receiving on `fd`. With `more` completions it stays armed; otherwise arm it again.
    func receive(_ fd: Int32, token: UInt64) throws
    /// Cancels the operation armed with `token`; it then completes with `-ECANCELED`.
    func cancel(token: UInt64) throws
    /// Releases what the engine keeps for `token` once its socket is closed.
    func forget(token: UInt64)
    /// Waits up to `timeoutNanos` for completions and hands each one to `body`.
    func wait(timeoutNanos: Int64, _ body: (IOCompletion) -> Void) throws
}

/// How a reader receives, best first. `akis serve` logs the one in use and exports it in metrics.
public enum ReceivePath: String, Sendable, CaseIterable {
    case multishot = "io_uring-multishot"
    case recv = "io_uring-recv"
    case poll = "poll"

    public var summary: String {
        switch self {
        case .multishot: "io_uring multishot receive into provided buffers"
        case .recv: "io_uring single receive per completion"
        case .poll: "poll(2), io_uring unavailable"
        }
    }
}

/// An I/O engine that could not be set up or failed.
public struct IOEngineError: Error, CustomStringConvertible {
    public let operation: String
    public let errnoCode: Int32
    public var description: String { "cannot \(operation): \(SystemError.message(errnoCode))" }
}

public enum FeedIOEngines {
    /// The engine for `choice`. `nil` takes the best path the kernel offers (see `IOUringSupport`)
    /// and, should that engine fail to start (resource limits), the next one, reporting each
    /// failure to `onFallback`. A forced path that fails is an error, never a silent downgrade.
    public static func make(_ choice: ReceivePath?, bufferSize: Int, bufferCount: Int,
                            onFallback: (ReceivePath, any Error) -> Void = { _, _ in }) throws -> any FeedIOEngine {
        if let choice { return try make(choice, bufferSize: bufferSize, bufferCount: bufferCount) }
        let best = IOUringSupport.probe().bestReceivePath
        let candidates = ReceivePath.allCases.drop { $0 != best }
        for path in candidates {
            do { return try make(path, bufferSize: bufferSize, bufferCount: bufferCount) } catch { onFallback(path, error) }
        }
        return PollEngine(bufferSize: bufferSize)
    }

    private static func make(_ path: ReceivePath, bufferSize: Int, bufferCount: Int) throws -> any FeedIOEngine {
        switch path {
        case .multishot: try URingEngine(multishot: true, bufferSize: bufferSize, bufferCount: bufferCount)
        case .recv: try URingEngine(multishot: false, bufferSize: bufferSize, bufferCount: bufferCount)
        case .poll: PollEngine(bufferSize: bufferSize)
        }
    }
}
