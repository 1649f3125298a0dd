/// The messages of MoldUDP64 sessions by sequence number, answering retransmission requests as
/// an exchange's rewinder does: for `akis replay --rewinder`, synthetic sessions and tests.
public struct MoldUDP64Archive: Sendable {
    private struct Kept: Sendable {
        var first: UInt64
        var messages: [[UInt8]]
    }

    private var sessions: [MoldUDP64Packet.Session: Kept] = [:]

    public init() {}

    /// Messages kept, over all sessions.
    public var messageCount: Int { sessions.values.reduce(0) { $0 + $1.messages.count } }

    /// Keeps a session's messages, the first numbered `first`.
    public mutating func keep(_ session: MoldUDP64Packet.Session, first: UInt64, messages: [[UInt8]]) {
        sessions[session] = Kept(first: first, messages: messages)
    }

    /// Keeps the messages of a packet (heartbeats and the end of session carry none). Packets of
    /// a session come in sequence order; a repeated one is ignored; one that leaves a hole is an
    /// error (the archive answers only what it holds without gaps).
    public mutating func add(packet bytes: UnsafeRawBufferPointer) -> FrameError? {
        let packet: MoldUDP64Packet
        switch MoldUDP64Packet.parse(bytes) {
        case .success(let p): packet = p
        case .failure(let e): return e
        }
        guard packet.messageCount > 0 else { return nil }
        var kept = sessions[packet.session] ?? Kept(first: packet.sequence, messages: [])
        var problem: FrameError?
        let damage = packet.forEachMessage { sequence, message in
            let next = kept.first + UInt64(kept.messages.count)
            if sequence == next {
                kept.messages.append(Array(message))
            } else if sequence > next, problem == nil {
                problem = .badField(name: "sequence", reason: "message \(sequence) after \(next - 1): the archive would have a hole")
            }
        }
        sessions[packet.session] = kept
        return damage ?? problem
    }

    /// The packets that answer a retransmission request (a bare 20-byte header): the asked
    /// messages that are kept, packed into packets of at most `maximumBytes`.
    public func answer(_ request: UnsafeRawBufferPointer, maximumBytes: Int = 1_400) -> [[UInt8]] {
        guard request.count == MoldUDP64Packet.headerSize, case .success(let r) = MoldUDP64Packet.parse(request) else { return [] }
        return answer(session: r.session, sequence: r.sequence, count: r.count, maximumBytes: maximumBytes)
    }

    public func answer(session: MoldUDP64Packet.Session, sequence: UInt64, count: UInt16, maximumBytes: Int = 1_400) -> [[UInt8]] {
        guard let kept = sessions[session], sequence >= kept.first, count > 0, count != MoldUDP64Packet.endOfSession else { return [] }
        let from = Int(sequence - kept.first)
        let end = min(kept.messages.count, from + Int(count))
        var out: [[UInt8]] = []
        var i = from
        while i < end {
            var size = MoldUDP64Packet.headerSize
            var j = i
            while j < end && (j == i || size + 2 + kept.messages[j].count <= maximumBytes) {
                size += 2 + kept.messages[j].count
                j += 1
            }
            out.append(MoldUDP64Packet.packet(session: session, sequence: kept.first + UInt64(i), messages: Array(kept.messages[i..<j])))
            i = j
        }
        return out
    }
}
