import Glibc

/// A deterministic generator of realistic BIST ticks for tests and benchmarks.
///
/// The same parameters always give the same ticks. Each symbol random-walks on its price-step
/// grid from a starting price spread over all step bands; busier symbols (a Zipf-like weighting)
/// tick more often; about 70 % of ticks are trades (with side and a lot-sized volume) and 30 %
/// quotes (bid and ask one step around the last price). Exchange times start at the continuous
/// session's open (10:00 Europe/Istanbul) on `date` and advance by exponential gaps of mean 1/rate.
public struct SyntheticFeed: Sequence, Sendable {
    public struct Parameters: Sendable, Equatable {
        public var symbolCount: Int
        /// Mean ticks per second.
        public var rate: Double
        /// Seconds of session time to cover.
        public var duration: Double
        public var seed: UInt64
        public var date: (year: Int, month: Int, day: Int)

        public init(symbolCount: Int = 10, rate: Double = 1000, duration: Double = 60, seed: UInt64 = 1,
                    date: (year: Int, month: Int, day: Int) = (2024, 9, 24)) {
            self.symbolCount = symbolCount
            self.rate = rate
            self.duration = duration
            self.seed = seed
            self.date = date
        }

        public static func == (a: Parameters, b: Parameters) -> Bool {
            a.symbolCount == b.symbolCount && a.rate == b.rate && a.duration == b.duration && a.seed == b.seed
                && a.date == b.date
        }

        /// Checks the parameters; returns a message naming the bad one.
        public func validationError() -> String? {
            if symbolCount < 1 || symbolCount > BISTMarket.bist30.count {
                return "--symbols must be between 1 and \(BISTMarket.bist30.count) (the BIST-30 universe), got \(symbolCount)"
            }
            if !(rate > 0 && rate <= 10_000_000) { return "--rate must be between 0 and 10,000,000 ticks/s, got \(rate)" }
            if !(duration > 0) { return "--duration must be positive" }
            if duration > Double(BISTMarket.continuousSessionSeconds) {
                return "--duration must fit in the 8-hour continuous session (at most 28800 s), got \(duration) s"
            }
            if UTCTime.daysInMonth(year: date.year, month: Swift.max(1, Swift.min(12, date.month))) < date.day || !(1...12).contains(date.month) || date.day < 1 {
                return "--date is not a calendar date"
            }
            return nil
        }
    }

    public let parameters: Parameters
    public let symbols: SymbolTable

    public init(_ parameters: Parameters) throws {
        if let error = parameters.validationError() { throw SynthError(description: error) }
        self.parameters = parameters
        self.symbols = try SymbolTable(BISTMarket.bist30.prefix(parameters.symbolCount))
    }

    public func makeIterator() -> Iterator { Iterator(parameters, symbolCount: symbols.count) }

    public struct Iterator: IteratorProtocol {
        private var random: SplitMix64
        private var prices: [Int64]
        private let cumulativeWeights: [Double]
        private var time: Int64
        private let end: Int64
        private let meanGapNanos: Double
        private var sequence: UInt64 = 0

        init(_ p: Parameters, symbolCount: Int) {
            random = SplitMix64(seed: p.seed)
            // Starting prices log-uniform between 5 and 3000 TRY, snapped to the step grid.
            prices = (0..<symbolCount).map { _ in 0 }
            for i in prices.indices {
                let lira = 5 * pow3000over5(random.nextUnit())
                let units = Int64(lira * Double(Price.unitsPerLira))
                let step = TickSizeTable.bistEquity.step(at: Price(units: units))
                prices[i] = Swift.max(step, units / step * step)
            }
            var total = 0.0
            cumulativeWeights = (0..<symbolCount).map { i in total += 1.0 / Double(i + 1); return total }
            time = BISTMarket.continuousSessionStart(year: p.date.year, month: p.date.month, day: p.date.day)
            end = time + Int64(p.duration * 1e9)
            meanGapNanos = 1e9 / p.rate
        }

        public mutating func next() -> Tick? {
            // Exponential inter-arrival gap (Poisson arrivals), at least 1 ns so times never repeat.
            let gap = -log(1 - random.nextUnit()) * meanGapNanos
            time += Swift.max(1, Int64(gap))
            guard time < end else { return nil }
            sequence += 1
            let pick = random.nextUnit() * cumulativeWeights.last!
            let s = cumulativeWeights.firstIndex { $0 >= pick } ?? cumulativeWeights.count - 1
            let move = Int(random.next() % 5) - 2  // -2...+2 steps, symmetric
            var price = Price(units: prices[s])
            for _ in 0..<abs(move) {
                price = move > 0 ? TickSizeTable.bistEquity.stepAbove(price) : TickSizeTable.bistEquity.stepBelow(price)
            }
            prices[s] = price.units
            let bid = TickSizeTable.bistEquity.stepBelow(price)
            let ask = TickSizeTable.bistEquity.stepAbove(price)
            let symbol = SymbolID(UInt32(s))
            if random.nextUnit() < 0.7 {
                // Volumes in lots: mostly small, sometimes large (a heavy-tailed mix).
                let u = random.nextUnit()
                let quantity = u < 0.8 ? Int64(1 + random.next() % 500) : Int64(500 + random.next() % 20_000)
                let side: TradeSide = random.next() & 1 == 0 ? .buy : .sell
                return Tick(symbol: symbol, kind: .trade, side: side, price: price, quantity: quantity,
                            bid: bid, ask: ask, exchangeTime: time, receiveTime: time, sequence: sequence)
            }
            return Tick(symbol: symbol, kind: .quote, price: .zero, quantity: 0, bid: bid, ask: ask,
                        exchangeTime: time, receiveTime: time, sequence: sequence)
        }
    }
}

public struct SynthError: Error, CustomStringConvertible {
    public let description: String
}

/// 3000/5 raised to `u` in [0, 1): log-uniform scaling without Foundation.
private func pow3000over5(_ u: Double) -> Double { exp(u * log(600.0)) }

/// SplitMix64: tiny, fast and fully deterministic across platforms.
public struct SplitMix64: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 bits of precision.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
