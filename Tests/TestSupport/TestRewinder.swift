import Atomics
import Foundation
import Glibc
import Ingest

/// A MoldUDP64 retransmission server for tests: answers each request with the asked messages of
/// a synthetic session (or stays silent), on a real UDP socket, from a thread of its own.
public final class TestRewinder: @unchecked Sendable {
    public let socket: Socket
    /// Requests received so far.
    public let requests = ManagedAtomic<Int>(0)
    private let stop = ManagedAtomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var running = true

    public init(session: SyntheticITCHSession, silent: Bool = false) throws {
        socket = try Socket.bind(FeedAddress(parsing: "udp://127.0.0.1:0"))
        let (socket, stop, requests, done) = (socket, stop, requests, done)
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
                if silent { continue }
                let asked = buffer.withUnsafeBytes { raw in (try? MoldUDP64Packet.parse(raw).get()).map { ($0.sequence, $0.count) } }
                guard let (sequence, count) = asked else { continue }
                for answer in session.answer(sequence: sequence, count: count, perPacket: 20) {
                    _ = withUnsafePointer(to: &from) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket.fd, answer, answer.count, 0, $0, length) }
                    }
                }
            }
        }
        thread.name = "test-rewinder"
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
