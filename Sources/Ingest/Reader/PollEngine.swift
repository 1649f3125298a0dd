import Glibc

/// The last-resort engine for kernels or sandboxes that refuse io_uring: poll(2) over every armed
/// socket, then a non-blocking accept, connect check or receive on each ready one. Receives stay
/// armed (like a multishot receive) until the stream ends.
public final class PollEngine: FeedIOEngine {
    public let receivePath = ReceivePath.poll
    private enum Operation { case accept, connect, receive }
    private struct Interest {
        var fd: Int32
        var operation: Operation
        var buffer: UnsafeMutableRawBufferPointer?
    }
    private var interests: [UInt64: Interest] = [:]
    /// Completions known without waiting (a cancel, a connect that finished at once).
    private var immediate: [(UInt64, Int32)] = []
    private let bufferSize: Int

    public init(bufferSize: Int) { self.bufferSize = bufferSize }

    deinit { for i in interests.values { i.buffer?.deallocate() } }

    public func accept(listener fd: Int32, token: UInt64) throws {
        interests[token] = Interest(fd: fd, operation: .accept)
    }

    public func connect(_ fd: Int32, to address: UnsafeRawPointer, length: UInt32, token: UInt64) throws {
        let rc = Glibc.connect(fd, address.assumingMemoryBound(to: sockaddr.self), length)
        if rc == 0 { immediate.append((token, 0)); return }
        if errno != EINPROGRESS { immediate.append((token, -errno)); return }
        interests[token] = Interest(fd: fd, operation: .connect)
    }

    public func receive(_ fd: Int32, token: UInt64) throws {
        let buffer = interests[token]?.buffer ?? UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        interests[token] = Interest(fd: fd, operation: .receive, buffer: buffer)
    }

    public func cancel(token: UInt64) throws {
        guard let interest = interests.removeValue(forKey: token) else { return }
        interest.buffer?.deallocate()
        immediate.append((token, -ECANCELED))
    }

    public func forget(token: UInt64) {
        interests.removeValue(forKey: token)?.buffer?.deallocate()
    }

    public func wait(timeoutNanos: Int64, _ body: (IOCompletion) -> Void) throws {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        if !immediate.isEmpty {
            let done = immediate
            immediate.removeAll()
            for (token, result) in done { body(IOCompletion(token: token, result: result, bytes: none, more: false)) }
            return
        }
        let tokens = Array(interests.keys)
        var fds = tokens.map { t -> pollfd in
            let i = interests[t]!
            return pollfd(fd: i.fd, events: Int16(i.operation == .connect ? POLLOUT : POLLIN), revents: 0)
        }
        let timeout = Int32(clamping: (max(0, timeoutNanos) + 999_999) / 1_000_000)
        let ready = poll(&fds, nfds_t(fds.count), timeout)
        if ready < 0 {
            if errno == EINTR { return }
            throw IOEngineError(operation: "poll feed sockets", errnoCode: errno)
        }
        guard ready > 0 else { return }
        for (k, p) in fds.enumerated() where p.revents != 0 {
            let token = tokens[k]
            guard let interest = interests[token] else { continue }
            switch interest.operation {
            case .accept:
                let fd = Glibc.accept(interest.fd, nil, nil)
                if fd < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                interests.removeValue(forKey: token)
                body(IOCompletion(token: token, result: fd >= 0 ? fd : -errno, bytes: none, more: false))
            case .connect:
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(interest.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                interests.removeValue(forKey: token)
                body(IOCompletion(token: token, result: -error, bytes: none, more: false))
            case .receive:
                let buffer = interest.buffer!
                let n = recv(interest.fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if n > 0 {
                    body(IOCompletion(token: token, result: Int32(n), bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), more: true))
                } else {
                    let result = n == 0 ? 0 : -errno
                    forget(token: token)
                    body(IOCompletion(token: token, result: result, bytes: none, more: false))
                }
            }
        }
    }
}
