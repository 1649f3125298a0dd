import Atomics
import Foundation
import Glibc

/// A retransmission server on a UDP socket: each MoldUDP64 request that arrives is answered,
/// to its sender, with the asked messages an archive holds, from a thread of its own. For
/// `akis replay --rewinder` and tests; an exchange runs its own.
public final class MoldUDP64Rewinder: @unchecked Sendable {
    public let socket: Socket
    /// Requests received so far.
    public let requests = ManagedAtomic<Int>(0)
    /// Answer packets sent so far.
    public let answers = ManagedAtomic<Int>(0)
    private let stop = ManagedAtomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var running = true

    /// Binds `address` (port 0 picks one: see `address`) and starts answering.
    public init(archive: MoldUDP64Archive, address: FeedAddress) throws {
        socket = try Socket.bind(address)
        let (socket, stop, requests, answers, done) = (socket, stop, requests, answers, done)
        let thread = Thread {
            defer { done.signal() }
            var buffer = [UInt8](repeating: 0, count: 64)
            while !stop.load(ordering: .relaxed) {
                guard (try? socket.waitReadable(timeoutMillis: 20)) == true else { continue }
                var from = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.fd, &buffer, buffer.count, 0, $0, &length) }
                }
                guard n == MoldUDP64Packet.headerSize else { continue }
                requests.wrappingIncrement(ordering: .relaxed)
                for packet in buffer.withUnsafeBytes({ archive.answer(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                    let sent = withUnsafePointer(to: &from) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket.fd, packet, packet.count, 0, $0, length) }
                    }
                    if sent > 0 { answers.wrappingIncrement(ordering: .relaxed) }
                }
            }
        }
        thread.name = "akis-rewinder"
        thread.start()
    }

    public var address: FeedAddress { socket.boundAddress }

    /// Stops its thread (within about 20 ms).
    public func close() {
        guard running else { return }
        running = false
        stop.store(true, ordering: .relaxed)
        done.wait()
    }

    deinit { close() }
}
