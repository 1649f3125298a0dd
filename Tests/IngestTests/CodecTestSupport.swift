import Ingest

let testSymbols = try! SymbolTable(BISTMarket.bist30)
let testContext = DecodeContext(symbols: testSymbols, maximumFrameBytes: 1024, feed: 3)

/// A deterministic pseudo-random source for generated test data.
typealias TestRandom = SplitMix64

extension SplitMix64 {
    init(state: UInt64) { self.init(seed: state) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A valid tick with every field exercised.
func generatedTick(_ r: inout TestRandom, receiveTime: Int64 = 0) -> Tick {
    let kind: TickKind = r.below(3) == 0 ? .quote : .trade
    let price = Price(units: Int64(1 + r.below(5_000_000_000)))
    let bid = r.below(4) == 0 ? Price.zero : Price(units: Int64(1 + r.below(5_000_000_000)))
    let ask = kind == .quote && bid == .zero ? Price(units: Int64(1 + r.below(1_000_000))) : (r.below(4) == 0 ? .zero : Price(units: Int64(1 + r.below(5_000_000_000))))
    return Tick(
        symbol: SymbolID(UInt32(r.below(testSymbols.count))), kind: kind,
        side: TradeSide(rawValue: UInt8(r.below(3)))!,
        price: kind == .quote && r.below(2) == 0 ? .zero : price,
        quantity: kind == .trade ? Int64(1 + r.below(1_000_000)) : Int64(r.below(3)),
        bid: bid, ask: ask,
        exchangeTime: 1_600_000_000_000_000_000 + Int64(r.below(1 << 40)) * (r.below(2) == 0 ? 1 : 1_000_000),
        receiveTime: receiveTime, sequence: UInt64(r.below(1 << 48)), feed: testContext.feed)
}

func encoded<C: FeedCodec>(_ codec: C.Type, _ ticks: [Tick]) -> [UInt8] {
    var out: [UInt8] = []
    for t in ticks { C.encode(t, symbols: testSymbols, into: &out) }
    return out
}

/// Runs `bytes` through a streaming decoder in the given chunk sizes (cycled).
func decodeStream<C: FeedCodec>(
    _ codec: C.Type, _ bytes: [UInt8], chunks: [Int] = [Int.max], receiveTime: Int64 = 0, context: DecodeContext = testContext
) -> (ticks: [Tick], errors: [FrameError], stats: DecodeStats) {
    var decoder = FeedDecoder<C>(context: context)
    var ticks: [Tick] = [], errors: [FrameError] = []
    var offset = 0, k = 0
    bytes.withUnsafeBytes { raw in
        while offset < raw.count {
            let n = min(chunks[k % chunks.count], raw.count - offset)
            k += 1
            decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]), receiveTime: receiveTime,
                           onError: { errors.append($0) }, onTick: { ticks.append($0) })
            offset += n
        }
    }
    decoder.finish { errors.append($0) }
    return (ticks, errors, decoder.stats)
}
