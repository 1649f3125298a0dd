/// Plays a recording back over TCP or UDP, with the original pacing scaled.
///
/// TCP: bytes go out in order, coalesced into large writes when several records are due at once
/// (always, at `--speed max`). UDP: one datagram per record, preserving the recorded boundaries.
public struct Replayer {
    public enum Speed: Sendable, Equatable, CustomStringConvertible {
        /// Original pacing divided by the factor (1 = real time, 10 = ten times faster).
        case factor(Double)
        /// As fast as the socket takes it.
        case max

        public init?(_ text: String) {
            if text == "max" { self = .max; return }
            guard let f = Double(text), f > 0, f.isFinite else { return nil }
            self = .factor(f)
        }

        public var description: String {
            switch self { case .max: "max"; case .factor(let f): f == f.rounded() ? "\(Int(f))" : "\(f)" }
        }
    }

    public struct Progress: Sendable {
        public var records: UInt64
        public var bytes: UInt64
        /// Fraction of the file read, 0...1.
        public var fraction: Double
        public var elapsedNanos: Int64
    }

    public struct Report: Sendable {
        public var records: UInt64
        public var bytes: UInt64
        public var elapsedNanos: Int64

        public init(records: UInt64, bytes: UInt64, elapsedNanos: Int64) {
            self.records = records
            self.bytes = bytes
            self.elapsedNanos = elapsedNanos
        }

        public var recordsPerSecond: Double { elapsedNanos > 0 ? Double(records) * 1e9 / Double(elapsedNanos) : 0 }
    }

    /// Sends every record of `reader` to `socket`. Calls `progress` about once a second.
    /// Errors (a damaged file, a closed connection) are thrown after everything before them was sent;
    /// `sent` then says how far it got.
    /// `skip` may leave a record out (it is read, paced, and not sent).
    public static func replay(
        _ reader: RecordingReader, to socket: Socket, speed: Speed, skip: (UnsafeRawBufferPointer) -> Bool = { _ in false },
        progress: (Progress) -> Void = { _ in }, sent: (Report) -> Void = { _ in }
    ) throws -> Report {
        let start = Clock.monotonicNanos()
        let udp = socket.address.transport == .udp
        var pending: [UInt8] = []
        pending.reserveCapacity(256 * 1024)
        var records: UInt64 = 0, bytes: UInt64 = 0
        var firstRecordTime: Int64?
        var nextProgress = start + 1_000_000_000
        let factor: Double? = if case .factor(let f) = speed { f } else { nil }

        func flush() throws {
            guard !pending.isEmpty else { return }
            try pending.withUnsafeBytes { try socket.send($0) }
            pending.removeAll(keepingCapacity: true)
        }
        func report() -> Report { Report(records: records, bytes: bytes, elapsedNanos: Clock.monotonicNanos() - start) }

        do {
            try reader.forEachRecord { time, payload in
                if let factor {
                    let origin = firstRecordTime ?? time
                    firstRecordTime = origin
                    let due = start + Int64(Double(time - origin) / factor)
                    if due > Clock.monotonicNanos() {
                        try flush()
                        Clock.sleep(untilMonotonic: due)
                    }
                }
                if skip(payload) { return }
                if udp {
                    try socket.send(payload)
                } else {
                    pending.append(contentsOf: payload)
                    if pending.count >= 128 * 1024 { try flush() }
                }
                records += 1
                bytes += UInt64(payload.count)
                if records & 1023 == 0 {
                    let now = Clock.monotonicNanos()
                    if now >= nextProgress {
                        nextProgress = now + 1_000_000_000
                        let fraction = reader.fileSize > 0 ? Double(reader.offset) / Double(reader.fileSize) : 0
                        progress(Progress(records: records, bytes: bytes, fraction: fraction, elapsedNanos: now - start))
                    }
                }
            }
            try flush()
        } catch {
            try? flush()
            sent(report())
            throw error
        }
        let result = report()
        sent(result)
        return result
    }
}
