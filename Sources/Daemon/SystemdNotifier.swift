import Glibc

/// sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET (Type=notify units), and the
/// watchdog interval from $WATCHDOG_USEC. Does nothing when not started by systemd.
public struct SystemdNotifier: Sendable {
    private let path: String?
    /// Half of this is how often "WATCHDOG=1" must be sent.
    public let watchdogNanos: Int64?

    public init() {
        path = getenv("NOTIFY_SOCKET").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        watchdogNanos = getenv("WATCHDOG_USEC").flatMap { Int64(String(cString: $0)) }.map { $0 * 1000 }
    }

    public func send(_ message: String) {
        guard let path, path.utf8.count < 108 else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            if path.hasPrefix("@") { raw[0] = 0 }  // abstract namespace
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.utf8.count)
        _ = message.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
    }
}
