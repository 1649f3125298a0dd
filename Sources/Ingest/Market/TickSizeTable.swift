/// An instrument's price steps (tick sizes) by price band: which prices an order may carry.
///
/// BIST publishes one table for equities (`bistEquity`); its ITCH feed sends each instrument's own
/// table as `L` messages after the instrument's `R` (`init(exchange:priceDecimals:)`), which the
/// daemon stores in `exchange_instruments` (`ExchangeInstruments.tickSizes(of:on:)` reads it back).
/// Where the exchange's table is known it is the one to check a price against.
public struct TickSizeTable: Sendable, Equatable {
    /// Prices from `from` through `to` (inclusive, `Price` units) move in steps of `step`.
    public struct Band: Sendable, Equatable {
        public var step: Int64
        public var from: Int64
        public var to: Int64
        public init(step: Int64, from: Int64, to: Int64) {
            self.step = step
            self.from = from
            self.to = to
        }
    }

    /// By rising `from`; they do not overlap.
    public let bands: [Band]

    /// Nil when a step is not positive, a band is empty, or two bands overlap.
    public init?(_ bands: [Band]) {
        let sorted = bands.sorted { $0.from < $1.from }
        guard !sorted.isEmpty, sorted.allSatisfy({ $0.step > 0 && $0.from >= 0 && $0.from <= $0.to }) else { return nil }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.from <= a.to { return nil }
        self.bands = sorted
    }

    /// An exchange's `L` table for an instrument: sizes and bounds in the feed's integers with
    /// `priceDecimals` decimals. Nil when it cannot be held exactly in `Price` or is not a table.
    public init?(exchange bands: [BISTOrderBooks.TickSizeBand], priceDecimals: UInt16) {
        guard let multiplier = Price.unitsPerUnit(decimals: priceDecimals) else { return nil }
        var out: [Band] = []
        for b in bands {
            let (step, overflow) = Int64(clamping: b.tickSize).multipliedReportingOverflow(by: multiplier)
            guard !overflow else { return nil }
            // The last band runs to the top of the field: any price above its start.
            let to = b.to == UInt32.max ? Int64.max : Int64(b.to) * multiplier
            out.append(Band(step: step, from: Int64(b.from) * multiplier, to: to))
        }
        self.init(out)
    }

    /// BIST's published equity table.
    ///
    /// | price range (TRY) | step |
    /// | --- | --- |
    /// | below 20 | 0.01 |
    /// | 20 – 50 | 0.02 |
    /// | 50 – 100 | 0.05 |
    /// | 100 – 250 | 0.10 |
    /// | 250 – 500 | 0.25 |
    /// | 500 – 1000 | 0.50 |
    /// | 1000 – 2500 | 1.00 |
    /// | 2500 and above | 2.50 |
    public static let bistEquity: TickSizeTable = {
        let lira = Price.unitsPerLira
        let steps: [(step: Int64, from: Int64)] = [(lira / 100, 0), (lira / 50, 20 * lira), (lira / 20, 50 * lira), (lira / 10, 100 * lira),
                                                   (lira / 4, 250 * lira), (lira / 2, 500 * lira), (lira, 1000 * lira), (lira * 5 / 2, 2500 * lira)]
        let bands = steps.indices.map { i in
            Band(step: steps[i].step, from: steps[i].from, to: i + 1 < steps.count ? steps[i + 1].from - steps[i].step : .max)
        }
        return TickSizeTable(bands)!
    }()

    /// The band `price` falls in; nil outside every band.
    public func band(at price: Price) -> Band? {
        bands.last { $0.from <= price.units }.flatMap { price.units <= $0.to ? $0 : nil }
    }

    /// The step at `price` (that of the band it falls in, or the nearest band below it).
    public func step(at price: Price) -> Int64 {
        (bands.last { $0.from <= price.units } ?? bands[0]).step
    }

    /// Whether an order may carry `price`: positive, inside a band and on its grid.
    public func contains(_ price: Price) -> Bool {
        guard price.units > 0, let band = band(at: price) else { return false }
        return (price.units - band.from) % band.step == 0
    }

    /// The lowest valid price strictly above `price`, or `price` itself if no band reaches above it.
    public func stepAbove(_ price: Price) -> Price {
        let target = max(price.units + 1, 1)
        for band in bands where band.to >= target {
            let snapped = band.from + (max(target, band.from) - band.from + band.step - 1) / band.step * band.step
            if snapped <= band.to { return Price(units: snapped) }
        }
        return price
    }

    /// The highest valid price strictly below `price`, or `price` itself if none is positive.
    public func stepBelow(_ price: Price) -> Price {
        let target = price.units - 1
        for band in bands.reversed() where band.from <= target {
            let snapped = band.from + (min(target, band.to) - band.from) / band.step * band.step
            if snapped > 0 { return Price(units: snapped) }
        }
        return price
    }
}
