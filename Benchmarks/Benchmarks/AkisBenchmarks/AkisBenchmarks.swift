import Aggregator
import Benchmark
import Foundation
import Ingest
import RingBuffer
import Store

/// 1,000 ticks over 30 symbols, 4 in 5 trades, 1 ms apart.
struct MarketMinute {
    var ticks: [Tick]
    init() {
        var r = SystemRandomNumberGenerator()
        ticks = []
        for i in 0..<1_000 {
            let symbol = SymbolID(UInt32.random(in: 0..<30, using: &r))
            let kind: TickKind = i % 5 == 0 ? .quote : .trade
            let price = Price(units: Int64.random(in: 10_000_000...20_000_000, using: &r))
            let quantity = Int64.random(in: 1...5_000, using: &r)
            let time: Int64 = 1_727_172_000_000_000_000 + Int64(i) * 1_000_000
            ticks.append(Tick(symbol: symbol, kind: kind, price: price, quantity: quantity, bid: Price(units: 9_990_000),
                              ask: Price(units: 10_010_000), exchangeTime: time, receiveTime: 0, sequence: UInt64(i + 1), feed: 1))
        }
    }
}

/// The aggregator's state carried from one benchmark iteration to the next, time moving on.
final class AggregatorRun: @unchecked Sendable {
    var aggregator = CandleAggregator()
    var ticks = MarketMinute().ticks
    var events = 0

    func once() {
        for i in ticks.indices {
            aggregator.add(ticks[i], now: ticks[i].exchangeTime) { _ in events += 1 }
            ticks[i].exchangeTime += 1_000_000_000  // the next iteration is 1 s later
            ticks[i].sequence += 1_000
        }
    }
}

/// The whole aggregation stage as the pipeline thread runs it: candles, daily statistics, latest
/// state published every 50 ms, candle updates into an outlet ring (drained here).
final class StageRun: @unchecked Sendable {
    let lane = ConsumerLane(name: "store", capacity: 1024, policy: .block)
    let outlet: CandleOutlet
    let stage: AggregationStage
    var ticks = MarketMinute().ticks
    var now: Int64 = 0

    init() {
        outlet = CandleOutlet(lane: lane)
        stage = AggregationStage(symbolCount: 30, outlets: [outlet]) { _ in }
    }

    func once() {
        for i in ticks.indices {
            ticks[i].exchangeTime += 1_000_000_000
            ticks[i].sequence += 1_000
        }
        now += 1_000_000_000
        ticks.withUnsafeBufferPointer { stage.process($0, now: now) }
        _ = outlet.ring.drain(maximum: .max) { blackHole($0.count) }
    }
}

/// Moves `count` ticks from a producer thread to this thread through a ring.
func transfer(_ count: Int, batch: Int) {
    let ring = SPSCRing<Tick>(minimumCapacity: 8192)
    let template = Tick(symbol: SymbolID(1), kind: .trade, price: Price(units: 15_750_000), quantity: 100, exchangeTime: 1)
    let producer = Thread {
        if batch == 1 {
            var sent = 0
            while sent < count {
                var t = template
                t.sequence = UInt64(sent)
                if ring.push(t) { sent += 1 }
            }
        } else {
            var buffer = [Tick](repeating: template, count: batch)
            var sent = 0
            while sent < count {
                let n = min(batch, count - sent)
                for i in 0..<n { buffer[i].sequence = UInt64(sent + i) }
                var pushed = 0
                buffer.withUnsafeBufferPointer { all in
                    while pushed < n { pushed += ring.push(contentsOf: UnsafeBufferPointer(rebasing: all[pushed..<n])) }
                }
                sent += n
            }
        }
    }
    producer.start()
    var received = 0
    var checksum: UInt64 = 0
    while received < count {
        received += ring.drain(maximum: max(batch, 1)) { span in
            for t in span { checksum &+= t.sequence }
        }
    }
    blackHole(checksum)
}

/// Exactly 1,000 synthetic ticks (one kilo-scaled iteration) in one wire format, ready to decode.
let ticksPerBuffer = 1_000

func encodedFeed(_ format: FeedFormat) -> (bytes: [UInt8], context: DecodeContext) {
    let feed = try! SyntheticFeed(.init(symbolCount: 30, rate: 150_000, duration: 1, seed: 1))
    var bytes: [UInt8] = []
    var n = 0
    for tick in feed.prefix(ticksPerBuffer) {
        switch format {
        case .binary: BinaryFrameCodec.encode(tick, symbols: feed.symbols, into: &bytes)
        case .jsonLines: JSONLineCodec.encode(tick, symbols: feed.symbols, into: &bytes)
        case .algolab, .bistITCH: preconditionFailure("ticks are encoded as binary frames or JSON lines")
        }
        n += 1
    }
    precondition(n == ticksPerBuffer)
    return (bytes, DecodeContext(symbols: feed.symbols))
}

/// Decodes `bytes` in 64 KiB reads, like a socket reader would see them.
func decodeAll<C: FeedCodec>(_ codec: C.Type, _ bytes: [UInt8], context: DecodeContext) -> UInt64 {
    var decoder = FeedDecoder<C>(context: context)
    var sum: UInt64 = 0
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let end = min(offset + 65_536, raw.count)
            decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), receiveTime: 0) { sum &+= UInt64($0.price.units) }
            offset = end
        }
    }
    return sum
}

/// A synthetic BIST ITCH session fed packet by packet through what a `bist-itch` feed's reader
/// thread does: the MoldUDP64 receiver, the message decoder and the order books (ticks counted).
/// The session starts again when it runs out.
final class ITCHRun: @unchecked Sendable {
    let packets: [[UInt8]]
    var receiver = MoldUDP64Receiver(canRequest: false)
    var books = BISTOrderBooks(symbols: try! SymbolTable(BISTMarket.bist30), feed: 1)
    var next = 0
    var ticks = 0
    var messages = 0

    init() {
        let session = try! SyntheticITCHSession(.init(symbolCount: 30, messages: 300_000, rate: 50_000, seed: 1))
        packets = session.packets.map(\.bytes)
    }

    /// Takes packets until at least `count` more messages went through.
    func run(_ count: Int) {
        let goal = messages + count
        while messages < goal {
            if next == packets.count {
                next = 0
                receiver = MoldUDP64Receiver(canRequest: false)
            }
            packets[next].withUnsafeBytes { raw in
                _ = receiver.receive(raw, now: 0, act: { if case .sessionStarted = $0 { books.startSession(now: 0) } }) { _, message in
                    messages += 1
                    _ = books.apply(message, receiveTime: 0) { _ in ticks += 1 }
                }
            }
            next += 1
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .cpuTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(3),
        maxIterations: 30
    )

    Benchmark("SPSCRing two threads, single push/pop") { benchmark in
        transfer(benchmark.scaledIterations.count, batch: 1)
    }

    Benchmark("SPSCRing two threads, batches of 256") { benchmark in
        transfer(benchmark.scaledIterations.count, batch: 256)
    }

    let binary = encodedFeed(.binary)
    // One iteration decodes the 1,000-tick buffer once: throughput (K) is thousands of ticks/s.
    let perTick = Benchmark.Configuration(scalingFactor: .kilo)
    Benchmark("Decode binary frames (ticks)", configuration: perTick) { benchmark in
        precondition(benchmark.scaledIterations.count == ticksPerBuffer)
        blackHole(decodeAll(BinaryFrameCodec.self, binary.bytes, context: binary.context))
    }

    let json = encodedFeed(.jsonLines)
    Benchmark("Decode JSON lines (ticks)", configuration: perTick) { benchmark in
        precondition(benchmark.scaledIterations.count == ticksPerBuffer)
        blackHole(decodeAll(JSONLineCodec.self, json.bytes, context: json.context))
    }

    // One iteration: 1,000 ticks into the candle aggregator (30 symbols; candles close every minute).
    let run = AggregatorRun()
    Benchmark("CandleAggregator updates (ticks)", configuration: perTick) { _ in
        run.once()
        blackHole(run.events)
    }

    // One iteration: 1,000 ticks through the whole stage (candles, statistics, publication).
    let stage = StageRun()
    Benchmark("AggregationStage ticks (ticks)", configuration: perTick) { _ in
        stage.once()
    }

    // One iteration: 1,000 BIST ITCH messages (in their MoldUDP64 packets) into the books.
    let itch = ITCHRun()
    Benchmark("BIST ITCH receive, decode and build books (messages)", configuration: perTick) { _ in
        itch.run(1_000)
        blackHole(itch.ticks)
    }
    // The same path's allocations, per 1,000 messages (one iteration, unscaled).
    Benchmark("BIST ITCH allocations per 1,000 messages", configuration: .init(metrics: [.mallocCountTotal], scalingFactor: .one)) { _ in
        itch.run(1_000)
        blackHole(itch.ticks)
    }

    // One iteration: 1,000 ticks encoded as binary COPY rows.
    let minute = MarketMinute()
    let symbols = SymbolUniverse(try! SymbolTable(BISTMarket.bist30))
    Benchmark("TickCopyEncoder rows (ticks)", configuration: perTick) { _ in
        var encoder = TickCopyEncoder(symbols: symbols)
        for t in minute.ticks { encoder.append(t) }
        blackHole(encoder.finished())
    }
}
