import Glibc

/// A deterministic BIST ITCH session in MoldUDP64 packets, for tests, benchmarks and `akis synth
/// --format bist-itch`: the directory (`R`) and tick size table (`L`) of BIST-30 instruments, then
/// order adds, executions (`E`, and printable `C`), deletes and off-book trades (`P`) around a
/// random-walking price on BIST's price steps, a `T` message for every second, heartbeats when
/// asked, and the end of session. The same parameters always give the same bytes.
public struct SyntheticITCHSession: Sendable {
    public struct Parameters: Sendable, Equatable {
        public var symbolCount: Int
        /// Order messages (adds, executions, deletes, trades) to generate.
        public var messages: Int
        /// Mean order messages per second of session time.
        public var rate: Double
        public var seed: UInt64
        public var session: String
        /// Most messages put in one packet (each packet takes 1 to this many, at random).
        public var messagesPerPacket: Int
        /// A heartbeat after every this many packets (0: none).
        public var heartbeatEvery: Int
        public var date: (year: Int, month: Int, day: Int)

        public init(symbolCount: Int = 10, messages: Int = 10_000, rate: Double = 10_000, seed: UInt64 = 1, session: String = "AKIS000001",
                    messagesPerPacket: Int = 8, heartbeatEvery: Int = 0, date: (year: Int, month: Int, day: Int) = (2024, 9, 24)) {
            self.symbolCount = symbolCount
            self.messages = messages
            self.rate = rate
            self.seed = seed
            self.session = session
            self.messagesPerPacket = messagesPerPacket
            self.heartbeatEvery = heartbeatEvery
            self.date = date
        }

        public static func == (a: Parameters, b: Parameters) -> Bool {
            a.symbolCount == b.symbolCount && a.messages == b.messages && a.rate == b.rate && a.seed == b.seed && a.session == b.session
                && a.messagesPerPacket == b.messagesPerPacket && a.heartbeatEvery == b.heartbeatEvery && a.date == b.date
        }

        public func validationError() -> String? {
            if symbolCount < 1 || symbolCount > BISTMarket.bist30.count {
                return "--symbols must be between 1 and \(BISTMarket.bist30.count) (the BIST-30 universe), got \(symbolCount)"
            }
            if messages < 1 || messages > 100_000_000 { return "--messages must be between 1 and 100,000,000, got \(messages)" }
            if !(rate > 0 && rate <= 10_000_000) { return "--rate must be between 0 and 10,000,000 messages/s, got \(rate)" }
            if session.utf8.count != 10 || !session.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                return "--session must be 10 ASCII letters or digits, got \(Sanitized(session))"
            }
            if !(1...64).contains(messagesPerPacket) { return "--messages-per-packet must be between 1 and 64" }
            if heartbeatEvery < 0 { return "--heartbeat-every must not be negative" }
            return nil
        }
    }

    /// One datagram, with the session time it is due at (UTC ns).
    public struct Packet: Sendable, Equatable {
        public var time: Int64
        /// The sequence number of its first message (a heartbeat's: the next expected).
        public var sequence: UInt64
        public var messageCount: Int
        public var bytes: [UInt8]
    }

    /// Every message in sequence order, from sequence 1 (what a rewinder serves).
    public let messages: [[UInt8]]
    /// In the order they are sent (a caller may leave some out, to make gaps).
    public var packets: [Packet]
    public let session: MoldUDP64Packet.Session
    /// The order book id of each symbol, in the order of `BISTMarket.bist30`.
    public let books: [String: UInt32]
    /// Prices on the wire have this many decimals.
    public static let priceDecimals: UInt16 = 3

    public init(_ p: Parameters) throws {
        if let error = p.validationError() { throw SynthError(description: error) }
        session = MoldUDP64Packet.Session(p.session)
        var random = SplitMix64(seed: p.seed)
        let names = Array(BISTMarket.bist30.prefix(p.symbolCount))
        var books: [String: UInt32] = [:]
        for (i, name) in names.enumerated() { books[name] = UInt32(70_000 + i * 17) }
        self.books = books
        let start = BISTMarket.continuousSessionStart(year: p.date.year, month: p.date.month, day: p.date.day)
        var time = start
        var second = time / 1_000_000_000
        var messages: [[UInt8]] = []
        var times: [Int64] = []
        func put(_ m: BISTITCH.Message) {
            messages.append(BISTITCH.encode(m))
            times.append(time)
        }
        func nanos() -> UInt32 { UInt32(time % 1_000_000_000) }
        let unitsPerRaw = Price.unitsPerLira / 1000
        put(.seconds(UInt32(second)))
        put(.systemEvent(nanos: nanos(), code: UInt8(ascii: "O")))
        for name in names {
            put(.orderBookDirectory(nanos: nanos(), book: books[name]!, symbol: ExchangeSymbol(name), isin: ExchangeSymbol("TRA\(name)91N1"), financialProduct: 5,
                                    priceDecimals: Self.priceDecimals, nominalDecimals: 0, oddLot: 1, roundLot: 1, blockLot: 1_000_000))
            // BIST's equity price steps, in the feed's thousandths of a lira.
            for b in TickSizeTable.bistEquity.bands {
                put(.tickSize(nanos: nanos(), book: books[name]!, tickSize: UInt64(b.step / unitsPerRaw), from: UInt32(b.from / unitsPerRaw),
                              to: b.to == .max ? UInt32.max : UInt32(b.to / unitsPerRaw)))
            }
            put(.orderBookState(nanos: nanos(), book: books[name]!, state: ExchangeSymbol("P_SUREKLI_ISLEM")))
        }
        // Per symbol: the price walk (Price units) and the resting orders.
        struct Resting { var id: UInt64; var buy: Bool; var price: Int64; var quantity: UInt64 }
        var mids = names.map { _ -> Int64 in
            let units = Int64(5 * exp(random.nextUnit() * log(600.0)) * Double(Price.unitsPerLira))
            let step = TickSizeTable.bistEquity.step(at: Price(units: units))
            return max(step, units / step * step)
        }
        var resting = names.map { _ in [Resting]() }
        var nextOrder: UInt64 = 1
        var nextMatch: UInt64 = 1
        let meanGap = 1e9 / p.rate
        for _ in 0..<p.messages {
            time += max(1, Int64(-log(1 - random.nextUnit()) * meanGap))
            if time / 1_000_000_000 != second {
                second = time / 1_000_000_000
                put(.seconds(UInt32(second)))
            }
            let s = Int(random.next() % UInt64(names.count))
            let book = books[names[s]]!
            let roll = random.nextUnit()
            if roll < 0.05 {
                var mid = Price(units: mids[s])
                mid = random.next() & 1 == 0 ? TickSizeTable.bistEquity.stepAbove(mid) : TickSizeTable.bistEquity.stepBelow(mid)
                mids[s] = mid.units
            }
            let orders = resting[s]
            // Adds outnumber deletes while a book is thin, and the other way round once it holds
            // about 60 orders: books keep a steady depth however long the session.
            if roll < (orders.count < 60 ? 0.5 : 0.35) || orders.count < 4 {
                // An add, one to five steps away from the mid on its side.
                let buy = random.next() & 1 == 0
                var price = Price(units: mids[s])
                for _ in 0...(random.next() % 5) { price = buy ? TickSizeTable.bistEquity.stepBelow(price) : TickSizeTable.bistEquity.stepAbove(price) }
                let quantity = 1 + random.next() % 2_000
                let order = Resting(id: nextOrder, buy: buy, price: price.units, quantity: quantity)
                nextOrder += 1
                resting[s].append(order)
                put(.addOrder(nanos: nanos(), order: order.id, book: book, side: buy ? .buy : .sell, rankingSequence: UInt32(truncatingIfNeeded: order.id),
                              quantity: quantity, price: Int32(order.price / unitsPerRaw), attributes: 0, lotType: 2, rankingTime: UInt64(time)))
            } else if roll < 0.7 {
                // A delete of any resting order.
                let i = Int(random.next() % UInt64(orders.count))
                let o = resting[s].remove(at: i)
                put(.orderDelete(nanos: nanos(), order: o.id, book: book, side: o.buy ? .buy : .sell))
            } else if roll < 0.95 {
                // An execution against the best order of one side, in part or whole.
                let buy = random.next() & 1 == 0
                guard let i = resting[s].indices.filter({ resting[s][$0].buy == buy }).max(by: {
                    let a = resting[s][$0], b = resting[s][$1]
                    return buy ? (a.price, b.id) < (b.price, a.id) : (a.price, a.id) > (b.price, b.id)
                }) else { continue }
                let o = resting[s][i]
                let quantity = random.next() % 3 == 0 ? o.quantity : 1 + random.next() % o.quantity
                if roll < 0.92 {
                    put(.orderExecuted(nanos: nanos(), order: o.id, book: book, side: o.buy ? .buy : .sell, quantity: quantity, match: nextMatch, comboGroup: 0))
                } else {
                    put(.orderExecutedWithPrice(nanos: nanos(), order: o.id, book: book, side: o.buy ? .buy : .sell, quantity: quantity, match: nextMatch,
                                                comboGroup: 0, price: UInt32(o.price / unitsPerRaw), occurredAtCross: false, printable: true))
                }
                nextMatch += 1
                if quantity == o.quantity { resting[s].remove(at: i) } else { resting[s][i].quantity -= quantity }
            } else {
                put(.trade(nanos: nanos(), match: nextMatch, comboGroup: 0, side: nil, quantity: 1 + random.next() % 500, book: book,
                           price: UInt32(mids[s] / unitsPerRaw), printable: true, occurredAtCross: false))
                nextMatch += 1
            }
        }
        put(.systemEvent(nanos: nanos(), code: UInt8(ascii: "C")))
        self.messages = messages

        var packets: [Packet] = []
        var i = 0
        while i < messages.count {
            let n = min(messages.count - i, 1 + Int(random.next() % UInt64(p.messagesPerPacket)))
            let sequence = UInt64(i + 1)
            packets.append(Packet(time: times[i + n - 1], sequence: sequence, messageCount: n,
                                  bytes: MoldUDP64Packet.packet(session: session, sequence: sequence, messages: Array(messages[i..<(i + n)]))))
            i += n
            if p.heartbeatEvery > 0 && packets.count % (p.heartbeatEvery + 1) == p.heartbeatEvery {
                packets.append(Packet(time: times[i - 1], sequence: UInt64(i + 1), messageCount: 0,
                                      bytes: MoldUDP64Packet.request(session: session, sequence: UInt64(i + 1), count: 0)))
            }
        }
        packets.append(Packet(time: time, sequence: UInt64(messages.count + 1), messageCount: 0,
                              bytes: MoldUDP64Packet.request(session: session, sequence: UInt64(messages.count + 1), count: MoldUDP64Packet.endOfSession)))
        self.packets = packets
    }

    /// Every message, for a rewinder to answer from.
    public var archive: MoldUDP64Archive {
        var archive = MoldUDP64Archive()
        archive.keep(session, first: 1, messages: messages)
        return archive
    }
}
