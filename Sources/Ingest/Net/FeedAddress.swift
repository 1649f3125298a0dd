import Glibc

/// Where a feed is: `tcp://HOST:PORT` or `udp://HOST:PORT` (HOST may be a name, an IPv4
/// address, or a bracketed IPv6 address such as `[::1]`).
public struct FeedAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable { case tcp, udp }

    public var transport: Transport
    public var host: String
    public var port: UInt16

    public init(transport: Transport, host: String, port: UInt16) {
        self.transport = transport
        self.host = host
        self.port = port
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws {
        func fail(_ why: String) -> ParseError {
            ParseError(description: "bad feed address \(Sanitized(text)): \(why); expected tcp://HOST:PORT or udp://HOST:PORT")
        }
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw fail("missing scheme") }
        guard let transport = Transport(rawValue: parts[0].lowercased()) else {
            throw fail("unknown scheme \(Sanitized(String(parts[0])))")
        }
        let rest = parts[1]
        let host: Substring, portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else { throw fail("bad IPv6 host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw fail("missing port") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else { throw fail("missing host") }
        guard let port = UInt16(portText) else { throw fail("port must be a number from 0 to 65535") }
        self.init(transport: transport, host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "\(transport)://[\(host)]:\(port)" : "\(transport)://\(host):\(port)"
    }

    /// Resolves to a socket address (first result of getaddrinfo).
    func resolve() throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(transport == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError(operation: "resolve \(self)", message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return SocketAddress(storage: storage, length: first.pointee.ai_addrlen)
    }
}

/// A resolved socket address.
struct SocketAddress {
    var storage: sockaddr_storage
    var length: socklen_t
    var family: Int32 { Int32(storage.ss_family) }

    /// The group address when this is an IPv4 multicast address (224.0.0.0/4).
    var ipv4Multicast: in_addr? {
        guard family == AF_INET else { return nil }
        let address = withUnsafeBytes(of: storage) { $0.load(fromByteOffset: 4, as: in_addr.self) }
        return UInt32(bigEndian: address.s_addr) >> 28 == 0xE ? address : nil
    }

    /// "127.0.0.1:9000" or "[::1]:9000".
    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: storage) { raw -> String in
            let port = UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            if family == AF_INET {
                var a = raw.load(fromByteOffset: 4, as: in_addr.self)
                inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
                return "\(Self.string(text)):\(port)"
            }
            if family == AF_INET6 {
                var a = raw.load(fromByteOffset: 8, as: in6_addr.self)
                inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
                return "[\(Self.string(text))]:\(port)"
            }
            return "address family \(family)"
        }
    }

    private static func string(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}
