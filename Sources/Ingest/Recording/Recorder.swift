/// Captures what arrives on a TCP or UDP address into a recording.
///
/// TCP: connections are recorded one after another (a second sender waits in the backlog until
/// the first disconnects), each read becoming one record. UDP: one record per datagram. The
/// pending block is flushed to disk at least once a second.
///
/// Sendable so that it can be handed to the thread that calls `run`; use it from that thread only.
public final class Recorder: @unchecked Sendable {
    public let socket: Socket
    public let writer: RecordingWriter

    public struct Report: Sendable {
        public var records: UInt64
        public var bytes: UInt64
        public var connections: Int
    }

    /// Binds `address` (port 0 picks a free one: see `socket.boundAddress`) and creates `path`.
    public init(listen address: FeedAddress, path: String, format: RecordingHeader.Payload, overwrite: Bool = false) throws {
        socket = try Socket.bind(address)
        let transport: RecordingHeader.Transport = address.transport == .tcp ? .tcp : .udp
        writer = try RecordingWriter(
            path: path, header: RecordingHeader(payload: format, transport: transport, startTime: Clock.wallNanos(),
                                                source: socket.boundAddress.description),
            overwrite: overwrite)
    }

    /// Records until `shouldStop()` returns true (checked several times a second), then closes the file.
    public func run(shouldStop: () -> Bool, onConnection: (Bool) -> Void = { _ in }) throws -> Report {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var report = Report(records: 0, bytes: 0, connections: 0)
        var lastFlush = Clock.monotonicNanos()
        var connection: Socket?
        func record(_ n: Int) throws {
            try buffer.withUnsafeBytes { try writer.append(receiveTime: Clock.wallNanos(), payload: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            report.records += 1
            report.bytes += UInt64(n)
        }
        while !shouldStop() {
            let now = Clock.monotonicNanos()
            if now - lastFlush >= 1_000_000_000 { try writer.flush(); lastFlush = now }
            switch socket.address.transport {
            case .udp:
                guard try socket.waitReadable(timeoutMillis: 100) else { continue }
                let n = try buffer.withUnsafeMutableBytes { try socket.receive(into: $0) }
                try record(n)
            case .tcp:
                guard let current = connection else {
                    connection = try socket.accept(timeoutMillis: 100)
                    if connection != nil { report.connections += 1; onConnection(true) }
                    continue
                }
                guard try current.waitReadable(timeoutMillis: 100) else { continue }
                let n: Int
                do { n = try buffer.withUnsafeMutableBytes { try current.receive(into: $0) } } catch { n = 0 }
                if n == 0 { connection = nil; onConnection(false); continue }
                try record(n)
            }
        }
        try writer.close()
        return report
    }
}
