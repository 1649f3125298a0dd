import Foundation
import Ingest
import Store
import Testing
import TestSupport

extension AkisCLITests {
    /// What a BIST ITCH session should store, computed here without the daemon's books: the trades
    /// (symbol, price in `Price` units, shares) in message order, and each symbol's last best prices.
    struct ITCHModel {
        var symbols: [UInt32: String] = [:]
        var orders: [UInt64: (book: UInt32, buy: Bool, price: Int64, shares: Int64)] = [:]
        var trades: [[String]] = []

        init(_ session: SyntheticITCHSession) {
            self.init(messages: session.messages.map { m in m.withUnsafeBytes { try! BISTITCH.decode($0).get() } })
        }

        init(messages: [BISTITCH.Message]) {
            for m in messages { apply(m) }
        }

        mutating func apply(_ message: BISTITCH.Message) {
                switch message {
                case .orderBookDirectory(_, let book, let symbol, _, _, _, _, _, _, _): symbols[book] = symbol.text
                case .addOrder(_, let id, let book, let side, _, let q, let p, _, _, _): orders[id] = (book, side == .buy, Int64(p), Int64(q))
                case .orderExecuted(_, let id, _, _, let q, _, _):
                    trades.append([symbols[orders[id]!.book]!, "\(orders[id]!.price * 1000)", "\(q)"])
                    reduce(id, Int64(q))
                case .orderExecutedWithPrice(_, let id, _, _, let q, _, _, let p, _, let printable):
                    if printable { trades.append([symbols[orders[id]!.book]!, "\(Int64(p) * 1000)", "\(q)"]) }
                    reduce(id, Int64(q))
                case .orderDelete(_, let id, _, _): orders[id] = nil
                case .trade(_, _, _, _, let q, let book, let p, let printable, _): if printable { trades.append([symbols[book]!, "\(Int64(p) * 1000)", "\(q)"]) }
                default: break
                }
        }

        mutating func reduce(_ id: UInt64, _ q: Int64) {
            orders[id]!.shares -= q
            if orders[id]!.shares == 0 { orders[id] = nil }
        }

        /// The messages applied in time order, for the book of a symbol as of a time (to the
        /// microsecond PostgreSQL keeps): its ten best levels per side, as PostgreSQL prints arrays.
        struct Replay {
            var messages: [(time: Int64, message: BISTITCH.Message)] = []
            var next = 0
            var model = ITCHModel(messages: [])

            init(_ session: SyntheticITCHSession) {
                var second: Int64 = 0
                for m in session.messages {
                    let message = m.withUnsafeBytes { try! BISTITCH.decode($0).get() }
                    var nanos: UInt32 = 0
                    switch message {
                    case .seconds(let s): second = Int64(s)
                    case .addOrder(let ns, _, _, _, _, _, _, _, _, _), .orderExecuted(let ns, _, _, _, _, _, _), .orderDelete(let ns, _, _, _),
                         .orderExecutedWithPrice(let ns, _, _, _, _, _, _, _, _, _), .trade(let ns, _, _, _, _, _, _, _, _),
                         .orderBookDirectory(let ns, _, _, _, _, _, _, _, _, _):
                        nanos = ns
                    default: break
                    }
                    messages.append((second * 1_000_000_000 + Int64(nanos), message))
                }
            }

            /// The books `symbol` may have had at `micros`: PostgreSQL rounds the depth's time to
            /// the microsecond, and the depth names a change in it, after the first, second, …
            /// message of the nanoseconds that round to it.
            mutating func books(_ symbol: String, at micros: Int64) -> [[String]] {
                let (from, through) = (micros * 1000 - 500, micros * 1000 + 500)
                while next < messages.count && messages[next].time < from {
                    model.apply(messages[next].message)
                    next += 1
                }
                var probe = model
                var candidates: [[String]] = []
                for m in messages[next...].prefix(while: { $0.time <= through }) {
                    probe.apply(m.message)
                    candidates.append(Self.levels(of: symbol, in: probe))
                }
                return candidates
            }

            static func levels(of symbol: String, in model: ITCHModel) -> [String] {
                func levels(_ buy: Bool) -> [(Int64, Int64)] {
                    var byPrice: [Int64: Int64] = [:]
                    for o in model.orders.values where model.symbols[o.book] == symbol && o.buy == buy { byPrice[o.price, default: 0] += o.shares }
                    return Array(byPrice.sorted { buy ? $0.key > $1.key : $0.key < $1.key }.prefix(10))
                }
                func text(_ values: [Int64]) -> String { "{" + values.map(String.init).joined(separator: ",") + "}" }
                let bids = levels(true), asks = levels(false)
                return [text(bids.map { $0.0 * 1000 }), text(bids.map(\.1)), text(asks.map { $0.0 * 1000 }), text(asks.map(\.1))]
            }
        }

        /// The best bid and ask of `symbol` at the end, in `Price` units ("" when none).
        func best(_ symbol: String) -> [String] {
            let mine = orders.values.filter { symbols[$0.book] == symbol }
            let bid = mine.filter(\.buy).map(\.price).max(), ask = mine.filter { !$0.buy }.map(\.price).min()
            return [bid.map { "\($0 * 1000)" } ?? "", ask.map { "\($0 * 1000)" } ?? ""]
        }
    }

    /// The colocated box's path end to end: `akis synth --format bist-itch` with packets left out,
    /// `akis replay` to a multicast group on loopback, a daemon whose `bist-itch` feed recovers the
    /// gaps from a rewinder, stores every tick and streams them to a subscriber.
    @Test func serveStoresAndStreamsABISTITCHSessionFromMulticastWithGapsRecovered() async throws {
        try await withScratchDatabase { url in
            let session = try SyntheticITCHSession(.init(symbolCount: 10, messages: 20_000, rate: 20_000, seed: 5, heartbeatEvery: 100))
            let rewinder = try testRewinder(session)
            defer { rewinder.close() }
            let recording = scratchFile("bist.akrec")
            let synth = try akis("synth", "--format", "bist-itch", "--symbols", "10", "--rate", "20000", "--duration", "1s", "--seed", "5",
                                 "--heartbeat-every", "100", "--drop-every", "30", "--out", recording)
            #expect(synth.status == 0 && synth.stdout.contains("messages left out for a rewinder to recover"), "\(synth)")

            // Top-of-book snapshots every 100 ms of market time: about ten in the one-second session.
            let storeConfig = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
                + "\n[aggregator]\nsnapshot_interval = \"100ms\""
            let feed = """
                address = "udp://239.77.3.1:0"
                format = "bist-itch"
                multicast_interface = "127.0.0.1"
                rewinder = "udp://127.0.0.1:\(rewinder.address.port)"
                """
            let (serve, address, http) = try startServe(feed, extra: storeConfig)
            let ws = "ws://\(http)/ws/market-data"
            let counter = try AkisProcess(["subscribe", "--count", "--depth", ws, "GARAN"])
            try await waitUntil("the subscriber's first messages: \(counter.log)", within: .seconds(60)) {
                guard serve.process.isRunning, counter.process.isRunning else { throw CLIFailure("serve: \(serve.log)\nsubscribe: \(counter.log)") }
                return counter.log.contains("received 2 messages")
            }
            // At the recorded pace: the reader publishes depth every 100 ms of the wall clock, so a
            // session sent faster than that could end before a snapshot's time has any depth.
            let replay = try akis("replay", recording, "--to", address, "--multicast-interface", "127.0.0.1", "--speed", "1")
            #expect(replay.status == 0, "\(replay.stderr)")

            let model = ITCHModel(session)
            var books = BISTOrderBooks(symbols: try SymbolTable(BISTMarket.bist30), feed: 1)
            books.startSession(now: 0)
            var ticks = 0
            for m in session.messages { m.withUnsafeBytes { books.apply(try! BISTITCH.decode($0).get(), receiveTime: 0) { _ in ticks += 1 } } }
            waitForLog(serve, "session AKIS000001 ended after \(session.messages.count) messages")
            let (_, result) = stopServe(serve, after: "stored \(grouped(UInt64(ticks)))")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("session AKIS000001 ended after \(grouped(UInt64(session.messages.count))) messages")
                    || result.stderr.contains("session AKIS000001 ended after \(session.messages.count) messages"), "\(result.stderr.suffix(3000))")
            #expect(result.stderr.contains(", 0 lost, "), "every gap recovered: \(result.stderr.suffix(2000))")
            #expect(rewinder.requests.load(ordering: .relaxed) > 0)

            let db = try LibpqConnection(conninfo: url)
            let stored = try db.execute("SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM market_ticks").rows[0]
            #expect(stored == ["\(ticks)", "1", "\(ticks)", "\(ticks)"], "every tick once, numbered 1…\(ticks): \(stored)")
            let trades = try db.execute("SELECT symbol, price, volume FROM market_ticks WHERE kind = 1 ORDER BY seq").rows.map { $0.map { $0 ?? "" } }
            #expect(trades.count == model.trades.count && trades == model.trades, "\(trades.count) trades stored, \(model.trades.count) in the model")
            for symbol in BISTMarket.bist30.prefix(10) {
                let last = try db.execute("SELECT coalesce(bid::text, ''), coalesce(ask::text, '') FROM market_ticks WHERE symbol = $1 AND kind = 2 ORDER BY seq DESC LIMIT 1",
                                          parameters: [symbol]).rows.first.map { $0.map { $0 ?? "" } }
                #expect(last == model.best(symbol), "\(symbol)'s last quote is the model's top of book")
            }
            let garan = try db.execute("SELECT count(*) FROM market_ticks WHERE symbol = 'GARAN'").rows[0][0]!
            let counted = counter.wait()
            #expect(counted.stdout.contains("MARKET_TICK \(grouped(UInt64(garan)!))"), "the subscriber got every GARAN tick stored: \(counted.stdout)")
            #expect(counted.stdout.contains("DEPTH "), "and GARAN's depth: \(counted.stdout)")
            // Snapshot rows carry the depth as of their time: the best bid of the depth is the row's bid
            // when the depth is the book at that instant.
            let depthRows = try db.execute("""
                SELECT count(*), count(*) FILTER (WHERE depth_time <= time AND cardinality(bid_prices) = cardinality(bid_sizes)
                    AND cardinality(ask_prices) = cardinality(ask_sizes) AND cardinality(bid_prices) <= 10)
                FROM order_book_snapshots WHERE depth_time IS NOT NULL
                """).rows[0]
            #expect(Int(depthRows[0]!)! > 0 && depthRows[0] == depthRows[1], "\(depthRows)")
            // And the depth is the model's book at its time: every level of every row.
            let rows = try db.execute("""
                SELECT symbol, (extract(epoch FROM depth_time) * 1000000)::bigint, bid_prices::text, bid_sizes::text, ask_prices::text, ask_sizes::text
                FROM order_book_snapshots WHERE depth_time IS NOT NULL ORDER BY depth_time
                """).rows.map { $0.map { $0 ?? "" } }
            var modelReplay = ITCHModel.Replay(session)
            for r in rows {
                let books = modelReplay.books(r[0], at: Int64(r[1])!)
                #expect(books.contains([r[2], r[3], r[4], r[5]]), "\(r[0]) at \(r[1]) µs: \([r[2], r[3], r[4], r[5]]) is none of the model's \(books)")
            }
        }
    }

    /// A public ITCH 5.0 day imported, then served: its own symbols, every tick through.
    @Test func anImportedITCH50DayIsServedInItsOwnSymbols() throws {
        let sample = packageRoot.appendingPathComponent("Samples/itch50/ex20101224.TEST_ITCH_50").path
        let recording = scratchFile("itch50.akrec")
        let imported = try akis("import", "itch50", sample, "--out", recording)
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stdout.contains("imported 12,012 ITCH 5.0 messages: 5,445 ticks (5,180 trades, 265 quotes) of 3 symbols"), "\(imported.stdout)")
        #expect(imported.stdout.contains("[market]\nsymbols = [\"ALC\", \"BOB\", \"CHAR\"]"), "\(imported.stdout)")
        let again = try akis("import", "itch50", sample, "--out", recording)
        #expect(again.status != 0 && again.stderr.contains("exists"), "no overwrite without --force: \(again.stderr)")
        let noDay = scratchFile("day.itch")
        try FileManager.default.copyItem(atPath: sample, toPath: noDay)
        let undated = try akis("import", "itch50", noDay, "--out", scratchFile("x.akrec"))
        #expect(undated.status != 0 && undated.stderr.contains("--date is needed"), "\(undated.stderr)")

        let (serve, address, _) = try startServe("address = \"tcp://127.0.0.1:0\"", extra: "[market]\nsymbols = [\"ALC\", \"BOB\", \"CHAR\"]")
        #expect(try akis("replay", recording, "--to", address, "--speed", "max").status == 0)
        let (stopped, result) = stopServe(serve, after: "delivered store 5,445")
        #expect(result.status == 0 && stopped.contains("decoded 5,445; rejected 0"), "\(stopped)")
    }

    /// The CLI alone: `akis replay --drop-every --rewinder` makes gaps and answers for them; the
    /// daemon recovers every message.
    @Test func theReplaysRewinderFillsTheGapsItsDropsMade() throws {
        let recording = scratchFile("bist.akrec")
        #expect(try akis("synth", "--format", "bist-itch", "--rate", "10000", "--duration", "1s", "--out", recording).status == 0)
        // A free port for the rewinder: the daemon's configuration names it before the replay starts.
        let port = try { () throws -> UInt16 in try Socket.bind(FeedAddress(parsing: "udp://127.0.0.1:0")).boundAddress.port }()  // closed again
        let feed = """
            address = "udp://239.77.3.2:0"
            format = "bist-itch"
            multicast_interface = "127.0.0.1"
            rewinder = "udp://127.0.0.1:\(port)"
            """
        let (serve, address, _) = try startServe(feed)
        let replay = try akis("replay", recording, "--to", address, "--multicast-interface", "127.0.0.1", "--speed", "max",
                              "--drop-every", "25", "--rewinder", "udp://127.0.0.1:\(port)", "--linger", "1s")
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("packets with messages (every 25th)") && !replay.stdout.contains("left out 0 "), "\(replay.stdout)")
        #expect(replay.stdout.contains("rewinder: ") && !replay.stdout.contains("rewinder: 0 requests"), "\(replay.stdout)")
        let (_, result) = stopServe(serve, after: "session AKIS000001 ended after")
        #expect(result.status == 0)
        #expect(result.stderr.contains("messages (") && result.stderr.contains(" lost, ") && result.stderr.contains(", 0 lost, "), "\(result.stderr.suffix(2000))")
        #expect(!result.stderr.contains("(0 recovered"), "the gaps were recovered: \(result.stderr.suffix(2000))")
        let wrong = try akis("replay", packageRoot.appendingPathComponent("Samples/bist-sample.akrec").path, "--to", address, "--drop-every", "3")
        #expect(wrong.status != 0 && wrong.stderr.contains("apply to BIST ITCH recordings"), "\(wrong.stderr)")
    }

    @Test func checkConfigDescribesAnExchangeFeed() throws {
        let config = scratchFile("itch.toml")
        try """
            [[feeds]]
            name = "bist"
            address = "udp://239.1.1.1:21001"
            format = "bist-itch"
            rewinder = "udp://10.0.0.1:21002"
            recovery_requests = 500
            seconds = "midnight"
            depth_levels = 0
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let checked = try akis("serve", "--config", config, "--check-config")
        #expect(checked.status == 0)
        #expect(checked.stdout.contains("feed bist: id 1, listen udp://239.1.1.1:21001, bist-itch on 0.0.0.0; rewinder udp://10.0.0.1:21002, 500 requests a session, "
                                        + "recovered share at most 4.0%, 1000 messages a request, asked 3x every 500 ms; seconds from midnight; stale after 5000 ms; no depth"),
                "\(checked.stdout)")
    }

    /// With `symbols_from_exchange`, the instruments the exchange announces join the symbols while
    /// the daemon runs: their ticks are stored, the latest prices and subscriptions take them at
    /// once. The directory is stored too, so a later start begins with them.
    @Test(.timeLimit(.minutes(5))) func announcedInstrumentsJoinTheSymbolsAtOnceAndALaterStartBeginsWithThem() async throws {
        try await withScratchDatabase { url in
            // Three seconds of trading in eight symbols; six are configured.
            let session = try SyntheticITCHSession(.init(symbolCount: 8, messages: 15_000, rate: 5_000, seed: 9))
            let recording = scratchFile("bist.akrec")
            #expect(try akis("synth", "--format", "bist-itch", "--symbols", "8", "--rate", "5000", "--duration", "3s", "--seed", "9", "--out", recording).status == 0)
            let six = BISTMarket.bist30.prefix(6).map { "\"\($0)\"" }.joined(separator: ", ")
            let feed = "address = \"udp://239.77.3.3:0\"\nformat = \"bist-itch\"\nmulticast_interface = \"127.0.0.1\""
            let store = "[database]\nurl = \"\(url)\"\n[store]\nspool_directory = \"\(scratchFile("spool"))\"\nretention_days = 36500"
            let market = "\n[market]\nsymbols = [\(six)]\nsymbols_from_exchange = true"

            // First run: nothing stored to take yet (the table does not exist before the first migration).
            let (serve, address, http) = try startServe(feed, extra: store + market)
            #expect(serve.log.contains("market: cannot read exchange_instruments (") && serve.log.contains("the configured 6 symbols stay"), "\(serve.log)")
            #expect(try await httpGet(http, "/api/market/latest?symbols=ENKAI").status == 404, "not a symbol before the exchange announces it")
            let replay = try AkisProcess(["replay", recording, "--to", address, "--multicast-interface", "127.0.0.1", "--speed", "1"])
            try await eventually("ENKAI joins: \(serve.log)", within: .seconds(60)) {
                guard serve.process.isRunning, replay.process.isRunning else { throw CLIFailure("serve: \(serve.log)\nreplay: \(replay.log)") }
                return try await httpGet(http, "/api/market/latest?symbols=ENKAI").status == 200
            }
            let counter = try AkisProcess(["subscribe", "--count", "ws://\(http)/ws/market-data", "ENKAI"])
            let replayed = try await offThePool { replay.wait() }
            #expect(replayed.status == 0, "\(replayed.stderr)")
            // The latest prices have the joined symbols' last trades.
            let model = ITCHModel(session)
            for symbol in ["ENKAI", "EREGL"] {
                let last = Price(units: Int64(try #require(model.trades.last { $0[0] == symbol })[1])!)
                try await eventually("\(symbol)'s latest price is \(last)", within: .seconds(30)) {
                    try await httpGet(http, "/api/market/latest?symbols=\(symbol)").body.contains("{\"symbol\":\"\(symbol)\",\"price\":\(last),")
                }
            }
            let (_, result) = try await offThePool { self.stopServe(serve, after: "session AKIS000001 ended after") }
            #expect(result.status == 0, "\(result.stderr.suffix(3000))")
            #expect(result.stderr.contains("feed e2e: 2 instruments the exchange announced join the symbols (symbols_from_exchange): ENKAI, EREGL"),
                    "\(result.stderr.suffix(3000))")
            #expect(result.stderr.contains("exchange directory: 8 instruments stored (exchange_instruments)"), "\(result.stderr.suffix(3000))")

            // Every trade of all eight, as an independent model of the session says.
            let db = try LibpqConnection(conninfo: url)
            let trades = try db.execute("SELECT symbol, price, volume FROM market_ticks WHERE kind = 1 ORDER BY seq").rows.map { $0.map { $0 ?? "" } }
            #expect(trades.count == model.trades.count && trades == model.trades, "\(trades.count) trades stored, \(model.trades.count) in the model")
            #expect(Set(trades.map { $0[0] }) == Set(BISTMarket.bist30.prefix(8)))
            for symbol in ["ENKAI", "EREGL"] {
                let last = try db.execute("SELECT coalesce(bid::text, ''), coalesce(ask::text, '') FROM market_ticks WHERE symbol = $1 AND kind = 2 ORDER BY seq DESC LIMIT 1",
                                          parameters: [symbol]).rows.first.map { $0.map { $0 ?? "" } }
                #expect(last == model.best(symbol), "\(symbol)'s last quote is the model's top of book")
            }
            // The subscriber, which could only ask once ENKAI had joined, got ENKAI's ticks from then on.
            let enkai = Int(try db.execute("SELECT count(*) FROM market_ticks WHERE symbol = 'ENKAI'").rows[0][0]!)!
            let counted = try await offThePool { counter.wait() }
            let got = counted.stdout.split(separator: "\n").last { $0.contains("MARKET_TICK") }
                .flatMap { line in line.split(separator: " ").drop { !$0.hasPrefix("MARKET_TICK") }.dropFirst().first }
                .flatMap { Int($0.replacingOccurrences(of: ",", with: "")) } ?? 0
            #expect(got > 0 && got <= enkai, "the subscriber got \(got) of ENKAI's \(enkai) ticks: \(counted.stdout)")
            let rows = try db.execute("SELECT feed, symbol, price_decimals, round_lot, cardinality(tick_sizes) FROM exchange_instruments ORDER BY symbol").rows
            #expect(rows.count == 8 && rows.allSatisfy { $0[0] == "e2e" && $0[2] == "3" && $0[3] == "1" && $0[4] == "24" }, "\(rows)")
            #expect(rows.map { $0[1]! } == BISTMarket.bist30.prefix(8).sorted())
            #expect(try db.execute("SELECT tick_sizes[1:3]::text FROM exchange_instruments WHERE symbol = 'AKBNK'").rows == [["{10,0,19990}"]])

            // Second run: the stored instruments are symbols from the start.
            let (again, _, againHTTP) = try startServe(feed, extra: store + market)
            #expect(again.log.contains("market: 2 symbols from exchange_instruments join the 6 configured: ENKAI, EREGL"), "\(again.log)")
            #expect(try await httpGet(againHTTP, "/api/market/latest?symbols=ENKAI").status == 200)
            let (_, stopped) = try await offThePool { self.stopServe(again, after: "market: 2 symbols from exchange_instruments join") }
            #expect(stopped.status == 0)
        }
    }
}
