/// Writes a synthetic feed into a recording, one record per frame with receive time equal to
/// exchange time (so replay paces ticks as the session did).
public enum SynthesisWriter {
    public struct Summary: Sendable {
        public var ticks: UInt64
        public var bytes: Int64
    }

    public static func write(
        _ feed: SyntheticFeed, format: FeedFormat, to path: String, overwrite: Bool = false,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> Summary {
        let p = feed.parameters
        let header = RecordingHeader(
            payload: .init(format), transport: .unknown,
            startTime: BISTMarket.continuousSessionStart(year: p.date.year, month: p.date.month, day: p.date.day),
            source: "synth symbols=\(p.symbolCount) rate=\(p.rate) duration=\(p.duration) seed=\(p.seed)")
        let writer = try RecordingWriter(path: path, header: header, overwrite: overwrite)
        var frame: [UInt8] = []
        frame.reserveCapacity(512)
        var ticks: UInt64 = 0
        for tick in feed {
            frame.removeAll(keepingCapacity: true)
            switch format {
            case .binary: BinaryFrameCodec.encode(tick, symbols: feed.symbols, into: &frame)
            case .jsonLines: JSONLineCodec.encode(tick, symbols: feed.symbols, into: &frame)
            case .algolab, .bistITCH: preconditionFailure("ticks are written as binary or JSON frames")
            }
            try writer.append(receiveTime: tick.receiveTime, payload: frame)
            ticks += 1
            if ticks % 1_000_000 == 0 { progress(ticks) }
        }
        try writer.close()
        return Summary(ticks: ticks, bytes: writer.bytesWritten)
    }

    /// Writes a synthetic BIST ITCH session: one record per MoldUDP64 packet, at its session time.
    public static func write(_ session: SyntheticITCHSession, source: String, to path: String, overwrite: Bool = false) throws -> Summary {
        let header = RecordingHeader(payload: .bistITCH, transport: .udp, startTime: session.packets.first?.time ?? 0, source: source)
        let writer = try RecordingWriter(path: path, header: header, overwrite: overwrite)
        for packet in session.packets { try writer.append(receiveTime: packet.time, payload: packet.bytes) }
        try writer.close()
        return Summary(ticks: UInt64(session.messages.count), bytes: writer.bytesWritten)
    }
}
