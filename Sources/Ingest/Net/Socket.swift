import Glibc

/// A failed socket operation, with the operation and the system's reason.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let message: String
    public var errnoCode: Int32 = 0

    init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    init(operation: String, errno code: Int32) {
        self.operation = operation
        self.message = SystemError.message(code)
        self.errnoCode = code
    }

    public var description: String { "cannot \(operation): \(message)" }
}

/// A blocking POSIX socket that closes itself. Used by the record and replay tools; the daemon's
/// feed reader uses io_uring instead.
public final class Socket: Sendable {
    public let fd: Int32
    public let address: FeedAddress

    /// Takes ownership of `fd`: it is closed with this object.
    init(fd: Int32, address: FeedAddress) {
        self.fd = fd
        self.address = address
    }

    deinit { Glibc.close(fd) }

    static func make(_ address: FeedAddress) throws -> (Int32, SocketAddress) {
        let resolved = try address.resolve()
        let type = address.transport == .tcp ? SOCK_STREAM : SOCK_DGRAM
        let fd = socket(resolved.family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "create a socket for \(address)", errno: errno) }
        return (fd, resolved)
    }

    /// Connects out (TCP) or sets the default destination (UDP). For a UDP multicast
    /// destination, `multicastInterface` (a local IPv4 address) picks the outgoing interface.
    public static func connect(to address: FeedAddress, multicastInterface: String? = nil) throws -> Socket {
        let (fd, resolved) = try make(address)
        if let multicastInterface, address.transport == .udp, resolved.ipv4Multicast != nil {
            var interface = in_addr()
            guard inet_pton(AF_INET, multicastInterface, &interface) == 1 else {
                Glibc.close(fd)
                throw SocketError(operation: "send to \(address)", message: "multicast interface \(Sanitized(multicastInterface)) is not an IPv4 address")
            }
            setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &interface, socklen_t(MemoryLayout<in_addr>.size))
        }
        let rc = resolved.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SocketError(operation: "connect to \(address)", errno: e)
        }
        if address.transport == .tcp { setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        return Socket(fd: fd, address: address)
    }

    /// Binds to `address` and, for TCP, listens. Port 0 picks a free port: see `boundAddress`.
    /// A UDP address in 224.0.0.0/4 joins that multicast group on the interface whose local IPv4
    /// address is `multicastInterface` (0.0.0.0 lets the kernel choose by its routes).
    public static func bind(_ address: FeedAddress, multicastInterface: String = "0.0.0.0") throws -> Socket {
        let (fd, resolved) = try make(address)
        setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        if address.transport == .udp { setOption(fd, SOL_SOCKET, SO_RCVBUF, 8 << 20) }
        let rc = resolved.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SocketError(operation: "bind \(address)", errno: e)
        }
        if address.transport == .udp, let group = resolved.ipv4Multicast {
            var request = ip_mreq()
            request.imr_multiaddr = group
            guard inet_pton(AF_INET, multicastInterface, &request.imr_interface) == 1 else {
                Glibc.close(fd)
                throw SocketError(operation: "join \(address)", message: "multicast interface \(Sanitized(multicastInterface)) is not an IPv4 address")
            }
            if setsockopt(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreq>.size)) != 0 {
                let e = errno
                Glibc.close(fd)
                throw SocketError(operation: "join multicast group \(address) on \(multicastInterface)", errno: e)
            }
        }
        if address.transport == .tcp && listen(fd, 16) != 0 {
            let e = errno
            Glibc.close(fd)
            throw SocketError(operation: "listen on \(address)", errno: e)
        }
        return Socket(fd: fd, address: address)
    }

    /// The address actually bound (with the real port when bound to port 0).
    public var boundAddress: FeedAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var port: UInt16 = 0
        withUnsafeBytes(of: storage) { raw in
            if Int32(storage.ss_family) == AF_INET { port = UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)) }
            if Int32(storage.ss_family) == AF_INET6 { port = UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)) }
        }
        return FeedAddress(transport: address.transport, host: address.host, port: port)
    }

    /// Waits up to `timeoutMillis` for a connection; `nil` on timeout.
    public func accept(timeoutMillis: Int32) throws -> Socket? {
        guard try waitReadable(timeoutMillis: timeoutMillis) else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else {
            if errno == EINTR || errno == EAGAIN { return nil }
            throw SocketError(operation: "accept on \(address)", errno: errno)
        }
        return Socket(fd: client, address: address)
    }

    /// `true` when data (or a connection, or end of stream) is ready within the timeout.
    public func waitReadable(timeoutMillis: Int32) throws -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&p, 1, timeoutMillis)
        if rc < 0 {
            if errno == EINTR { return false }
            throw SocketError(operation: "poll \(address)", errno: errno)
        }
        return rc > 0
    }

    /// Receives into `buffer`; 0 means the peer closed (TCP).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SocketError(operation: "receive from \(address)", errno: errno)
        }
    }

    /// Sends all of `bytes` (TCP), or one datagram (UDP). Never raises SIGPIPE.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count || (bytes.isEmpty && offset == 0) {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ENOBUFS || errno == EAGAIN { sched_yield(); continue }
                throw SocketError(operation: "send to \(address)", errno: errno)
            }
            offset += n
            if address.transport == .udp || bytes.isEmpty { return }
        }
    }

    /// Half-closes the sending side (TCP), so the peer sees a clean end of stream.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// The peer's address as text ("127.0.0.1:40112"), or "unknown peer".
    static func peerDescription(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return "unknown peer" }
        return SocketAddress(storage: storage, length: length).description
    }

    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }
}
