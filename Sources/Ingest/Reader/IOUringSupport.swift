import CLibUring

/// What io_uring offers on this kernel, probed by really using it (see `akis_uring_probe`).
/// The feed reader picks its receive path from this; `akis serve` logs it at start.
public struct IOUringSupport: Sendable, Equatable {
    /// 0 when an io_uring could be set up, else the errno (e.g. EPERM under a seccomp policy).
    public let setupErrno: Int32
    /// 0 when a provided-buffer ring registered, else the errno.
    public let bufferRingErrno: Int32
    /// 0 when a multishot receive into a provided buffer worked, else the errno.
    public let multishotErrno: Int32
    public let features: UInt32

    public static func probe() -> IOUringSupport {
        let r = akis_uring_probe()
        return IOUringSupport(setupErrno: r.setup_errno, bufferRingErrno: r.buf_ring_errno,
                              multishotErrno: r.multishot_errno, features: r.features)
    }

    /// The receive path a reader should use, best first.
    public var bestReceivePath: ReceivePath {
        if setupErrno != 0 { return .poll }
        if bufferRingErrno == 0 && multishotErrno == 0 { return .multishot }
        return .recv
    }
}
