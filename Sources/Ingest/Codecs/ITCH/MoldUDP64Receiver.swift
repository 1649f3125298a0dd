/// The receiving side of a MoldUDP64 stream: delivers each message exactly once and in sequence
/// order, holds messages that arrive after a gap until the gap is filled, asks the rewinder for
/// the missing ones, and spends those requests from a budget, because the exchange blocks members
/// who recover too much (BIST: 9,999 requests per session, recovered packets about 5% of the day's).
/// When the budget is spent or the rewinder stays silent, the missing messages are given up
/// (`lost`) and delivery goes on after them.
///
/// Pure logic: packets and the time come in, messages and actions go out; the caller owns the
/// sockets. The first packet sets the session and where delivery starts (joining mid-session is
/// not a gap). A packet of another session starts that session afresh.
public struct MoldUDP64Receiver {
    public struct Budget: Sendable, Equatable {
        /// Retransmission requests allowed per session.
        public var requestsPerSession: Int
        /// Recovered messages may not exceed this share of the session's messages so far.
        public var maximumRecoveredShare: Double
        /// The share is taken of at least this many messages, so that a gap early in the session
        /// can still be recovered.
        public var shareFloor: UInt64
        /// Messages asked for in one request (the rewinder may answer with fewer per packet).
        public var messagesPerRequest: UInt16
        /// How long to wait for an answer that makes progress before asking again.
        public var timeoutNanos: Int64
        /// Requests for the same missing message before it is given up.
        public var attempts: Int

        public init(requestsPerSession: Int = 9_999, maximumRecoveredShare: Double = 0.04, shareFloor: UInt64 = 100_000,
                    messagesPerRequest: UInt16 = 1_000, timeoutNanos: Int64 = 500_000_000, attempts: Int = 3) {
            self.requestsPerSession = requestsPerSession
            self.maximumRecoveredShare = maximumRecoveredShare
            self.shareFloor = shareFloor
            self.messagesPerRequest = messagesPerRequest
            self.timeoutNanos = timeoutNanos
            self.attempts = attempts
        }
    }

    /// Something the caller must act on.
    public enum Action: Equatable, Sendable {
        /// Send this retransmission request to the rewinder.
        case request(session: MoldUDP64Packet.Session, sequence: UInt64, count: UInt16)
        /// These messages will not come: the state they carried is unknown from here on.
        case lost(from: UInt64, count: UInt64, reason: LossReason)
        /// A new session began (the previous one's state no longer applies).
        case sessionStarted(MoldUDP64Packet.Session)
        /// The session ended and every message of it was delivered or given up.
        case sessionEnded(MoldUDP64Packet.Session)
    }

    public enum LossReason: String, Sendable {
        /// No rewinder is configured.
        case noRewinder = "no rewinder is configured"
        case requestBudgetSpent = "the session's request budget is spent"
        case shareCeiling = "recovering more would pass the recovered-share ceiling"
        case rewinderSilent = "the rewinder did not answer"
        /// More messages were held behind the gap than the receiver keeps.
        case holdLimit = "too many messages were waiting behind the gap"
        /// Another session started before the gap was filled.
        case sessionChanged = "the session changed"
    }

    public struct Stats: Sendable, Equatable {
        public var packets: UInt64 = 0
        public var heartbeats: UInt64 = 0
        public var delivered: UInt64 = 0
        public var duplicates: UInt64 = 0
        /// Jumps in the sequence (each may have been recovered, in part or whole, or lost).
        public var gaps: UInt64 = 0
        public var requests: UInt64 = 0
        /// Messages delivered after they had been missing.
        public var recovered: UInt64 = 0
        public var lost: UInt64 = 0
        public var malformed: UInt64 = 0
        public var sessions: UInt64 = 0
        /// Packets of the session before the current one (late answers), ignored.
        public var otherSession: UInt64 = 0
        public init() {}
    }

    public let budget: Budget
    /// Whether there is a rewinder to ask; without one every gap is lost at once.
    public let canRequest: Bool
    /// The largest number of out-of-order messages held while a gap is open.
    public let holdLimit: Int
    public private(set) var session: MoldUDP64Packet.Session?
    private var previousSession: MoldUDP64Packet.Session?
    /// The next sequence number to deliver.
    public private(set) var next: UInt64 = 0
    /// One past the highest sequence number known to exist (from a message, a heartbeat or the end).
    public private(set) var end: UInt64 = 0
    public private(set) var stats = Stats()
    /// The server said the session is over.
    public private(set) var ended = false
    /// Requests sent in this session.
    public private(set) var requestsThisSession = 0
    private var recoveredThisSession: UInt64 = 0
    /// Messages after a gap, by sequence number (all between `next` and `end`).
    private var held: [UInt64: [UInt8]] = [:]
    private var outstanding: (sequence: UInt64, count: UInt64, deadline: Int64, attempts: Int)?
    private var endAnnounced = false

    public init(budget: Budget = .init(), canRequest: Bool, holdLimit: Int = 1_000_000) {
        self.budget = budget
        self.canRequest = canRequest
        self.holdLimit = holdLimit
    }

    /// Messages known to exist that have neither arrived nor been given up.
    public var missing: UInt64 { end - next - UInt64(held.count) }
    /// Requests left in this session.
    public var requestsLeft: Int { max(0, budget.requestsPerSession - requestsThisSession) }
    private var hasGap: Bool { end > next }

    /// Takes one datagram: delivers what is now in order through `deliver`, and tells `act` what
    /// the caller must do, in order with the deliveries (a new session before its messages). A
    /// malformed packet is counted and returned as the error; the messages before the damage are
    /// taken.
    public mutating func receive(
        _ bytes: UnsafeRawBufferPointer, now: Int64, act: (Action) -> Void, deliver: (UInt64, UnsafeRawBufferPointer) -> Void
    ) -> FrameError? {
        let packet: MoldUDP64Packet
        switch MoldUDP64Packet.parse(bytes) {
        case .success(let p): packet = p
        case .failure(let e):
            stats.malformed += 1
            return e
        }
        stats.packets += 1
        if packet.session != session {
            // A late answer for the session before must not restart it.
            if packet.session == previousSession {
                stats.otherSession += 1
                return nil
            }
            start(packet.session, at: packet.sequence, act: act)
        }
        var damage: FrameError?
        if packet.isHeartbeat || packet.isEndOfSession {
            if packet.isHeartbeat { stats.heartbeats += 1 }
            // Its sequence is the next one the server will send: everything before it exists.
            if packet.sequence > end { stats.gaps += 1 }
            end = max(end, packet.sequence)
            if packet.isEndOfSession { ended = true }
        } else {
            damage = packet.forEachMessage { sequence, message in take(sequence, message, deliver: deliver) }
            if damage != nil { stats.malformed += 1 }
        }
        if held.count >= holdLimit { giveUp(.holdLimit, act: act, deliver: deliver) }
        settle(now: now, act: act, deliver: deliver)
        return damage
    }

    /// Call now and then (at least every `timeoutNanos`): asks again, or gives up, when the
    /// answer to a request is late.
    public mutating func idle(now: Int64, act: (Action) -> Void, deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        guard let o = outstanding, now >= o.deadline else { return }
        outstanding = nil
        if o.attempts >= budget.attempts {
            giveUp(.rewinderSilent, act: act, deliver: deliver)
        } else {
            ask(now: now, attempt: o.attempts + 1, act: act, deliver: deliver)
        }
        settle(now: now, act: act, deliver: deliver)
    }

    private mutating func start(_ new: MoldUDP64Packet.Session, at sequence: UInt64, act: (Action) -> Void) {
        if session != nil, missing > 0 {
            stats.lost += missing
            act(.lost(from: next, count: missing, reason: .sessionChanged))
        }
        previousSession = session
        session = new
        next = sequence
        end = sequence
        held.removeAll()
        outstanding = nil
        requestsThisSession = 0
        recoveredThisSession = 0
        ended = false
        endAnnounced = false
        stats.sessions += 1
        act(.sessionStarted(new))
    }

    @inline(__always)
    private mutating func take(_ sequence: UInt64, _ message: UnsafeRawBufferPointer, deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        if sequence == next && end <= next {
            // The ordinary case: in order, nothing missing.
            deliver(sequence, message)
            stats.delivered += 1
            next = sequence + 1
            end = next
            return
        }
        if sequence < next || held[sequence] != nil {
            stats.duplicates += 1
            return
        }
        let wasMissing = sequence < end
        if sequence > end { stats.gaps += 1 }
        end = max(end, sequence + 1)
        guard sequence == next else {
            held[sequence] = Array(message)
            return
        }
        if wasMissing {
            stats.recovered += 1
            recoveredThisSession += 1
        }
        deliver(sequence, message)
        stats.delivered += 1
        next = sequence + 1
        drainHeld(deliver: deliver)
    }

    private mutating func drainHeld(deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        while let m = held.removeValue(forKey: next) {
            m.withUnsafeBytes { deliver(next, $0) }
            stats.delivered += 1
            next += 1
        }
    }

    /// Notes progress on the request in flight, asks for a gap nobody asked for yet, and ends
    /// the session when all of it is in.
    private mutating func settle(now: Int64, act: (Action) -> Void, deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        if let o = outstanding, next > o.sequence {
            let through = o.sequence + o.count
            outstanding = next >= through ? nil : (next, through - next, now + budget.timeoutNanos, 1)
        }
        if outstanding == nil && hasGap { ask(now: now, attempt: 1, act: act, deliver: deliver) }
        if ended && !endAnnounced && !hasGap, let session {
            endAnnounced = true
            act(.sessionEnded(session))
        }
    }

    /// Asks for the first gap, or gives it up (and goes on to the next) when the budget says no.
    private mutating func ask(now: Int64, attempt: Int, act: (Action) -> Void, deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        while hasGap, let session {
            let gapEnd = held.isEmpty ? end : held.keys.min()!
            let count = min(gapEnd - next, UInt64(budget.messagesPerRequest))
            let refusal: LossReason? =
                if !canRequest { .noRewinder }
                else if requestsThisSession >= budget.requestsPerSession { .requestBudgetSpent }
                else if Double(recoveredThisSession + count) > budget.maximumRecoveredShare * Double(max(end, budget.shareFloor)) { .shareCeiling }
                else { nil }
            guard let refusal else {
                requestsThisSession += 1
                stats.requests += 1
                outstanding = (next, count, now + budget.timeoutNanos, attempt)
                act(.request(session: session, sequence: next, count: UInt16(count)))
                return
            }
            giveUp(refusal, act: act, deliver: deliver)
        }
    }

    /// Skips the first gap: the messages held after it are delivered.
    private mutating func giveUp(_ reason: LossReason, act: (Action) -> Void, deliver: (UInt64, UnsafeRawBufferPointer) -> Void) {
        guard hasGap else { return }
        let resume = held.keys.min() ?? end
        let count = resume - next
        stats.lost += count
        act(.lost(from: next, count: count, reason: reason))
        next = resume
        outstanding = nil
        drainHeld(deliver: deliver)
    }
}
