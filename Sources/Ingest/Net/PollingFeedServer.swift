import Atomics
import Glibc
import RingBuffer

/// A feed listener on one thread: accepts TCP feed connections (any number) or receives UDP
/// datagrams, decodes every frame in place, and hands ticks to the pipeline through an SPSC ring in
/// batches. A full ring applies backpressure (the reader waits, and counts the wait): nothing is
/// dropped.
///
/// This reader uses poll(2); it is the portable baseline that the io_uring reader replaces.
///
/// Sendable so that it can be handed to its thread: `run` is called by that one thread only, and
/// other threads touch just `counters` (atomics) and `listener` (immutable).
public final class PollingFeedServer<Codec: FeedCodec>: @unchecked Sendable {
    public let listener: Socket
    public let counters = FeedCounters()
    private let context: DecodeContext
    private let ring: SPSCRing<Tick>
    private let onEvent: (String) -> Void

    public init(listen address: FeedAddress, context: DecodeContext, ring: SPSCRing<Tick>, onEvent: @escaping (String) -> Void) throws {
        listener = try Socket.bind(address)
        self.context = context
        self.ring = ring
        self.onEvent = onEvent
    }

    private struct Connection {
        let socket: Socket
        var decoder: FeedDecoder<Codec>
        let peer: Int
    }

    /// Runs until `stop` becomes true; then finishes every open stream and returns.
    public func run(stop: ManagedAtomic<Bool>) throws {
        var connections: [Connection] = []
        var nextPeer = 1
        var udpDecoder = FeedDecoder<Codec>(context: context)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var batch: [Tick] = []
        batch.reserveCapacity(512)
        let udp = listener.address.transport == .udp
        let boundAddress = listener.boundAddress
        var decodedTicks: UInt64 = 0

        func publish() {
            guard !batch.isEmpty else { return }
            var sent = 0
            batch.withUnsafeBufferPointer { all in
                while sent < all.count {
                    let n = ring.push(contentsOf: UnsafeBufferPointer(rebasing: all[sent...]))
                    if n == 0 {
                        counters.ringFullWaits.wrappingIncrement(ordering: .relaxed)
                        sched_yield()
                    }
                    sent += n
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        func consume(_ n: Int, into decoder: inout FeedDecoder<Codec>) {
            counters.bytes.wrappingIncrement(by: UInt64(n), ordering: .relaxed)
            let now = Clock.wallNanos()
            buffer.withUnsafeBytes { raw in
                decoder.decode(UnsafeRawBufferPointer(rebasing: raw[0..<n]), receiveTime: now, onError: { error in
                    counters.countRejected(error.kind)
                }, onTick: { tick in
                    decodedTicks += 1
                    batch.append(tick)
                    if batch.count == batch.capacity { publish() }
                })
            }
            publish()
            counters.ticks.store(decodedTicks, ordering: .relaxed)
        }

        while !stop.load(ordering: .relaxed) {
            var fds = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)]
            fds += connections.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 100)
            if ready < 0 && errno != EINTR { throw SocketError(operation: "poll feed sockets", errno: errno) }
            guard ready > 0 else { continue }
            let polled = connections.count  // a connection accepted below is polled next round
            if fds[0].revents != 0 {
                if udp {
                    let n = try buffer.withUnsafeMutableBytes { try listener.receive(into: $0) }
                    // Each datagram holds whole frames: a partial one at the end is truncated.
                    consume(n, into: &udpDecoder)
                    udpDecoder.finish { counters.countRejected($0.kind) }
                } else if let socket = try listener.accept(timeoutMillis: 0) {
                    connections.append(Connection(socket: socket, decoder: FeedDecoder(context: context), peer: nextPeer))
                    counters.connections.wrappingIncrement(ordering: .relaxed)
                    onEvent("feed connection \(nextPeer) opened on \(boundAddress)")
                    nextPeer += 1
                }
            }
            var closed: [Int] = []
            for i in 0..<polled where fds[i + 1].revents != 0 {
                let n = (try? buffer.withUnsafeMutableBytes { try connections[i].socket.receive(into: $0) }) ?? 0
                if n == 0 {
                    connections[i].decoder.finish { counters.countRejected($0.kind) }
                    closed.append(i)
                    continue
                }
                consume(n, into: &connections[i].decoder)
            }
            for i in closed.reversed() {
                let c = connections.remove(at: i)
                onEvent("feed connection \(c.peer) closed: \(c.decoder.stats.ticks) ticks, \(c.decoder.stats.rejected) rejected")
            }
        }
        for i in connections.indices { connections[i].decoder.finish { counters.countRejected($0.kind) } }
        publish()
    }
}
