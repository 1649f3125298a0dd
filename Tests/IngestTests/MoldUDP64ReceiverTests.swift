import Ingest
import Testing

/// The MoldUDP64 receiver as a pure state machine: packets of a synthetic session in, messages and
/// actions out, a rewinder played by the session's own `answer`.
@Suite struct MoldUDP64ReceiverTests {
    typealias Action = MoldUDP64Receiver.Action
    static let session = try! SyntheticITCHSession(.init(symbolCount: 5, messages: 3_000, seed: 7, messagesPerPacket: 6))
    static let archive = session.archive

    /// Feeds `packets` (with the rewinder answering when `answers`), then idles past every deadline.
    struct Run {
        var receiver: MoldUDP64Receiver
        var delivered: [UInt64] = []
        var bodies: [[UInt8]] = []
        var actions: [Action] = []
        var requests: [(UInt64, UInt16)] { actions.compactMap { if case .request(_, let s, let c) = $0 { (s, c) } else { nil } } }
        var losses: [Action] { actions.filter { if case .lost = $0 { true } else { false } } }

        init(budget: MoldUDP64Receiver.Budget = .init(), canRequest: Bool = true) {
            receiver = MoldUDP64Receiver(budget: budget, canRequest: canRequest)
        }

        mutating func feed(_ bytes: [UInt8], now: Int64 = 0, answers: Bool) {
            var new: [Action] = []
            var d: [(UInt64, [UInt8])] = []
            _ = bytes.withUnsafeBytes { receiver.receive($0, now: now, act: { new.append($0) }) { d.append(($0, Array($1))) } }
            take(new, d, now: now, answers: answers)
        }

        mutating func idle(now: Int64, answers: Bool) {
            var new: [Action] = []
            var d: [(UInt64, [UInt8])] = []
            receiver.idle(now: now, act: { new.append($0) }) { d.append(($0, Array($1))) }
            take(new, d, now: now, answers: answers)
        }

        private mutating func take(_ new: [Action], _ d: [(UInt64, [UInt8])], now: Int64, answers: Bool) {
            delivered += d.map(\.0)
            bodies += d.map(\.1)
            actions += new
            guard answers else { return }
            for case .request(_, let sequence, let count) in new {
                for packet in MoldUDP64ReceiverTests.archive.answer(session: MoldUDP64ReceiverTests.session.session, sequence: sequence, count: count,
                                                                     maximumBytes: 200) {
                    feed(packet, now: now, answers: true)
                }
            }
        }
    }

    @Test func inOrderPacketsAreDeliveredOnceEach() {
        var run = Run()
        for p in Self.session.packets { run.feed(p.bytes, answers: false) }
        #expect(run.delivered == Array(1...UInt64(Self.session.messages.count)))
        #expect(run.bodies == Self.session.messages)
        #expect(run.actions == [.sessionStarted(Self.session.session), .sessionEnded(Self.session.session)])
        #expect(run.receiver.stats.gaps == 0 && run.receiver.stats.requests == 0 && run.receiver.missing == 0)
    }

    @Test func droppedPacketsAreRecoveredInOrderFromTheRewinder() {
        var run = Run()
        var dropped = 0
        for (i, p) in Self.session.packets.enumerated() {
            if i % 7 == 3 && p.messageCount > 0 { dropped += p.messageCount; continue }
            run.feed(p.bytes, answers: true)
        }
        #expect(run.delivered == Array(1...UInt64(Self.session.messages.count)))
        #expect(run.bodies == Self.session.messages)
        #expect(run.losses.isEmpty)
        #expect(run.receiver.stats.recovered == UInt64(dropped))
        #expect(run.receiver.stats.requests >= run.receiver.stats.gaps && run.receiver.stats.gaps > 0)
        #expect(run.actions.last == .sessionEnded(Self.session.session))
    }

    @Test func duplicatesAndLateAnswersAreDroppedAndCounted() {
        var run = Run()
        for p in Self.session.packets.prefix(50) {
            run.feed(p.bytes, answers: false)
            run.feed(p.bytes, answers: false)
        }
        let messages = Self.session.packets.prefix(50).reduce(0) { $0 + $1.messageCount }
        #expect(run.delivered == Array(1...UInt64(messages)))
        #expect(run.receiver.stats.duplicates == UInt64(messages))
    }

    @Test func withoutARewinderAGapIsLostAtOnceAndDeliveryGoesOn() {
        var run = Run(canRequest: false)
        let packets = Self.session.packets
        for p in packets.prefix(10) { run.feed(p.bytes, answers: false) }
        for p in packets[11..<20] { run.feed(p.bytes, answers: false) }
        let gap = packets[10]
        #expect(run.losses == [.lost(from: gap.sequence, count: UInt64(gap.messageCount), reason: .noRewinder)])
        #expect(run.delivered == Array(1..<gap.sequence) + Array((gap.sequence + UInt64(gap.messageCount))..<packets[20].sequence))
        #expect(run.requests.isEmpty && run.receiver.stats.lost == UInt64(gap.messageCount))
    }

    @Test func theRequestBudgetIsSpentThenGapsAreGivenUp() {
        var run = Run(budget: .init(requestsPerSession: 2))
        for (i, p) in Self.session.packets.enumerated() where i % 10 != 5 { run.feed(p.bytes, answers: true) }
        #expect(run.requests.count == 2)
        let reasons = run.losses.compactMap { if case .lost(_, _, let r) = $0 { r } else { nil } }
        #expect(!reasons.isEmpty && reasons.allSatisfy { $0 == .requestBudgetSpent })
        #expect(run.receiver.requestsLeft == 0)
        // Every message was delivered once, recovered or not lost; the lost ones never.
        #expect(Set(run.delivered).count == run.delivered.count && run.delivered == run.delivered.sorted())
        #expect(UInt64(run.delivered.count) + run.receiver.stats.lost == UInt64(Self.session.messages.count))
        #expect(run.actions.last == .sessionEnded(Self.session.session))
    }

    @Test func theRecoveredShareCeilingRefusesLargeRecoveries() {
        // 2% of at least 1,000 messages: 20 may be recovered.
        var run = Run(budget: .init(maximumRecoveredShare: 0.02, shareFloor: 1_000))
        for (i, p) in Self.session.packets.enumerated() where !(i >= 100 && i < 120) { run.feed(p.bytes, answers: true) }
        let reasons = run.losses.compactMap { if case .lost(_, _, let r) = $0 { r } else { nil } }
        #expect(reasons == [.shareCeiling])
        #expect(run.receiver.stats.recovered <= 60)
    }

    @Test func aSilentRewinderIsAskedAgainThenTheGapIsLost() {
        var run = Run(budget: .init(timeoutNanos: 1_000, attempts: 3))
        let packets = Self.session.packets
        for p in packets.prefix(10) { run.feed(p.bytes, answers: false) }
        for p in packets[11..<15] { run.feed(p.bytes, answers: false) }
        #expect(run.requests.count == 1)
        run.idle(now: 500, answers: false)
        #expect(run.requests.count == 1, "not yet late")
        run.idle(now: 1_000, answers: false)
        run.idle(now: 2_000, answers: false)
        #expect(run.requests.count == 3 && run.losses.isEmpty)
        run.idle(now: 3_000, answers: false)
        #expect(run.losses == [.lost(from: packets[10].sequence, count: UInt64(packets[10].messageCount), reason: .rewinderSilent)])
        #expect(run.delivered.last == packets[15].sequence - 1)
    }

    @Test func aHeartbeatRevealsAGapAtTheEnd() {
        var run = Run()
        let s = Self.session.session
        run.feed(MoldUDP64Packet.packet(session: s, sequence: 1, messages: Array(Self.session.messages[0..<3])), answers: false)
        // Messages 4 and 5 went missing; the heartbeat says 6 comes next.
        run.feed(MoldUDP64Packet.request(session: s, sequence: 6, count: 0), now: 10, answers: true)
        #expect(run.requests.map(\.0) == [4] && run.requests.map(\.1) == [2])
        #expect(run.delivered == [1, 2, 3, 4, 5] && run.receiver.stats.recovered == 2 && run.receiver.stats.heartbeats == 1)
    }

    @Test func malformedPacketsAreCountedAndNeverFatal() {
        var receiver = MoldUDP64Receiver(canRequest: true)
        let s = Self.session.session
        var errors: [FrameError] = []
        var delivered: [UInt64] = []
        func feed(_ bytes: [UInt8]) {
            var a: [Action] = []
            if let e = bytes.withUnsafeBytes({ receiver.receive($0, now: 0, act: { a.append($0) }) { s, _ in delivered.append(s) } }) { errors.append(e) }
        }
        feed([1, 2, 3])  // shorter than a header
        var damaged = MoldUDP64Packet.packet(session: s, sequence: 1, messages: Array(Self.session.messages[0..<2]))
        damaged[20 + 2 + Self.session.messages[0].count + 1] = 0xFF  // the second block claims 255+ bytes
        feed(damaged)
        feed(MoldUDP64Packet.packet(session: s, sequence: 2, messages: Array(Self.session.messages[1..<3])) + [0])  // a byte after the last block
        #expect(errors.map(\.kind) == [.truncated, .truncated, .badLength])
        #expect(delivered == [1, 2, 3], "what came before the damage is kept")
        #expect(receiver.stats.malformed == 3)
    }

    @Test func aNewSessionStartsAfreshAndLateAnswersForTheOldOneAreIgnored() {
        var run = Run(canRequest: false)
        let old = Self.session.session, new = MoldUDP64Packet.Session("AKIS000002")
        run.feed(MoldUDP64Packet.packet(session: old, sequence: 1, messages: Array(Self.session.messages[0..<3])), answers: false)
        run.feed(MoldUDP64Packet.packet(session: new, sequence: 1, messages: Array(Self.session.messages[0..<2])), answers: false)
        run.feed(MoldUDP64Packet.packet(session: old, sequence: 4, messages: Array(Self.session.messages[3..<5])), answers: false)
        #expect(run.delivered == [1, 2, 3, 1, 2])
        #expect(run.actions == [.sessionStarted(old), .sessionStarted(new)])
        #expect(run.receiver.stats.otherSession == 1 && run.receiver.session == new)
    }

    @Test func anArchiveKeepsASessionFromItsPacketsAndAnswersRequestsInPacketsThatFit() throws {
        var archive = MoldUDP64Archive()
        for p in Self.session.packets {
            #expect(p.bytes.withUnsafeBytes { archive.add(packet: $0) } == nil)
        }
        #expect(Self.session.packets[5].bytes.withUnsafeBytes { archive.add(packet: $0) } == nil, "a repeated packet is ignored")
        #expect(archive.messageCount == Self.session.messages.count)
        let s = Self.session.session
        let request = MoldUDP64Packet.request(session: s, sequence: 100, count: 300)
        let answer = request.withUnsafeBytes { archive.answer($0, maximumBytes: 500) }
        #expect(answer.allSatisfy { $0.count <= 500 } && answer.count > 1)
        var got: [(UInt64, [UInt8])] = []
        for packet in answer {
            try packet.withUnsafeBytes { raw in
                let p = try MoldUDP64Packet.parse(raw).get()
                #expect(p.session == s)
                _ = p.forEachMessage { got.append(($0, Array($1))) }
            }
        }
        #expect(got.map(\.0) == Array(100..<400) && got.map(\.1) == Array(Self.session.messages[99..<399]))
        // Past the end: what is kept; another session, the end-of-session count, a bad request: nothing.
        #expect(archive.answer(session: s, sequence: UInt64(Self.session.messages.count), count: 50).count == 1)
        #expect(archive.answer(session: MoldUDP64Packet.Session("OTHER00001"), sequence: 1, count: 5).isEmpty)
        #expect(archive.answer(session: s, sequence: 1, count: MoldUDP64Packet.endOfSession).isEmpty)
        #expect([UInt8](repeating: 1, count: 7).withUnsafeBytes { archive.answer($0) }.isEmpty)
        // A packet that would leave a hole is refused.
        var holes = MoldUDP64Archive()
        #expect(Self.session.packets[0].bytes.withUnsafeBytes { holes.add(packet: $0) } == nil)
        let error = Self.session.packets[2].bytes.withUnsafeBytes { holes.add(packet: $0) }
        #expect(error?.kind == .badField)
    }

    @Test func tooManyMessagesHeldBehindAGapGiveItUp() {
        var receiver = MoldUDP64Receiver(canRequest: true, holdLimit: 20)
        var actions: [Action] = []
        var delivered: [UInt64] = []
        let packets = Self.session.packets
        for p in packets.prefix(3) + packets[4..<40] {
            _ = p.bytes.withUnsafeBytes { receiver.receive($0, now: 0, act: { actions.append($0) }) { s, _ in delivered.append(s) } }
        }
        let losses = actions.compactMap { if case .lost(let from, let count, let reason) = $0 { (from, count, reason) } else { nil } }
        #expect(losses.count == 1 && losses.first?.0 == packets[3].sequence && losses.first?.1 == UInt64(packets[3].messageCount))
        #expect(losses.first?.2 == .holdLimit)
        #expect(delivered == Array(1..<packets[3].sequence) + Array(packets[4].sequence..<packets[40].sequence), "delivery went on after the gap")
    }
}
