import Atomics
import Ingest

/// The aggregator on the pipeline thread: 1-minute candles, per-symbol statistics and latest
/// state, labelled by the session calendar. Candle updates go out through `CandleOutlet`s (the
/// store writer's, the fan-out's); the latest state is published to `latest`; top-of-book
/// snapshots go to a `SnapshotOutlet` every `snapshotIntervalNanos` of market time.
///
/// Pure bookkeeping per tick: no locks, allocations or system calls on the ordinary path. The
/// lock of `latest` is taken once per `publishIntervalNanos`.
public final class AggregationStage: PipelineStage, @unchecked Sendable {
    public struct Options: Sendable {
        public var candles = CandleAggregator.Options()
        public var calendar = SessionCalendar()
        /// How often the latest state is published for readers.
        public var publishIntervalNanos: Int64 = 50_000_000
        /// Market time between top-of-book snapshots (of the symbols that changed since the last).
        public var snapshotIntervalNanos: Int64 = 10 * UTCTime.nanosPerSecond
        public init() {}
    }

    public let latest: LatestPrices
    public let options: Options
    private var aggregator: CandleAggregator
    private let outlets: [CandleOutlet]
    private let snapshots: SnapshotOutlet?
    /// Symbols whose book or trades changed since the last snapshot.
    private var bookChanged: [Bool]
    /// The next snapshot's time: a tick at or after it cuts the snapshot before it is applied.
    /// `.min` until the first tick starts the series.
    private var nextSnapshot = Int64.min
    private var statistics: [SymbolStatistics]
    private var changed: [Int] = []
    private var day: TradingDay?
    /// The market's time of the statistics the stage started with (0 without).
    private var baseMarketTime: Int64 = 0
    private var nextPublish: Int64 = 0
    /// The last `.late` rebuild sent per symbol: a burst of late trades for one minute asks once.
    private var lastRebuild: [Int64]
    private let log: (String) -> Void
    private var warnedCalendarYear = false
    /// Where the store's figures for the day come from (see `StoredStatisticsHandoff`).
    private let stored: StoredStatisticsHandoff?
    /// Ticks taken so far.
    private var taken: UInt64 = 0
    private var keeping = Keeping.no
    /// The stored checkpoints a delivery brought: ticks at or below them are a feed's resend of
    /// stored ones, which the writer does not store again, so they do not count either.
    private var covered: [UInt16: UInt64] = [:]

    /// The ticks after the mark, kept until the store's figures arrive.
    private enum Keeping {
        case no
        case after(UInt64, [Tick])
        /// More than `maximumKeptTicks` came before the figures.
        case gaveUp
    }

    /// About 64 MB of ticks: ten seconds at 100,000 ticks/s.
    static let maximumKeptTicks = 1_000_000

    /// Counters for metrics, published with the latest state.
    public let candlesClosed = ManagedAtomic<UInt64>(0)
    public let candlesCorrected = ManagedAtomic<UInt64>(0)
    /// Trades too late to correct their candle in memory (the store rebuilds those).
    public let lateTrades = ManagedAtomic<UInt64>(0)
    /// Trades of an earlier trading day than the current one: in candles and storage, not in the
    /// daily statistics.
    public let previousDayTrades = ManagedAtomic<UInt64>(0)
    private var closed: UInt64 = 0
    private var corrected: UInt64 = 0
    private var olderDayTrades: UInt64 = 0

    /// - Parameter stored: the store writer's figures for the trading day: taken at once when they
    ///   were rebuilt at start (and published before the first tick), or while running after a
    ///   start without the database; the ticks count on top of them.
    public init(symbolCount: Int, outlets: [CandleOutlet], snapshots: SnapshotOutlet? = nil, options: Options = Options(),
                stored: StoredStatisticsHandoff? = nil, log: @escaping (String) -> Void) {
        precondition(options.snapshotIntervalNanos > 0, "the snapshot interval must be positive")
        self.options = options
        self.outlets = outlets
        self.snapshots = snapshots
        bookChanged = [Bool](repeating: false, count: symbolCount)
        self.log = log
        aggregator = CandleAggregator(options: options.candles)
        latest = LatestPrices(symbolCount: symbolCount)
        statistics = (0..<symbolCount).map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }
        changed.reserveCapacity(symbolCount)
        lastRebuild = [Int64](repeating: .min, count: symbolCount)
        self.stored = stored
        // Readers (a subscriber's SNAPSHOT, /api/market/latest) see them before the first tick.
        if let stored { take(stored, now: 0) }
    }

    public func process(_ ticks: UnsafeBufferPointer<Tick>, now: Int64) {
        for tick in ticks {
            if tick.exchangeTime >= nextSnapshot { snapshot(reaching: tick.exchangeTime) }
            let s = Int(tick.symbol.rawValue)
            if s >= statistics.count { grow(to: s + 1) }
            aggregator.add(tick, now: now, emit: send)
            bookChanged[s] = true
            if isResend(tick) { continue }
            if !count(tick) && tick.kind == .trade { olderDayTrades += 1 }
        }
        taken += UInt64(ticks.count)
        if case .after = keeping { keep(ticks) }
        // After the batch: a writer's `through` never exceeds what this stage has taken.
        if let stored { take(stored, now: now) }
        if now >= nextPublish { publish(now: now) }
    }

    /// A feed's resend of a tick an earlier run stored (see `covered`).
    private func isResend(_ tick: Tick) -> Bool { !covered.isEmpty && tick.isCovered(by: covered) }

    /// Counts `tick` in its symbol's statistics for the day; false for a tick of an earlier day.
    private func count(_ tick: Tick) -> Bool {
        let s = Int(tick.symbol.rawValue)
        if day?.contains(tick.exchangeTime) != true { moveDay(to: tick.exchangeTime) }
        guard let day, day.contains(tick.exchangeTime) || tick.exchangeTime >= day.nextStart else { return false }
        if !statistics[s].changed { changed.append(s) }
        if statistics[s].tradingDay != day.day { statistics[s].roll(to: day.day) }
        statistics[s].apply(tick)
        return true
    }

    private func keep(_ ticks: UnsafeBufferPointer<Tick>) {
        guard case .after(let mark, var kept) = keeping else { return }
        keeping = .no  // so that appending does not copy
        if kept.count + ticks.count > Self.maximumKeptTicks {
            keeping = .gaveUp
            log("statistics: the store's figures did not come within \(Self.maximumKeptTicks) ticks; the day's figures count this run's ticks only")
            return
        }
        kept.append(contentsOf: ticks)
        keeping = .after(mark, kept)
    }

    /// Takes what the store writer has for this stage: a request to keep the ticks to come, or
    /// the day's stored figures, which replace this stage's (with the kept ticks after them).
    private func take(_ stored: StoredStatisticsHandoff, now: Int64) {
        switch stored.take(taken: taken) {
        case .nothing:
            return
        case .ask:
            keeping = .after(taken, [])
        case .delivery(let d):
            var replay: ArraySlice<Tick> = []
            switch keeping {
            case .after(let mark, let kept) where d.through >= mark && d.through - mark <= UInt64(kept.count):
                replay = kept[Int(d.through - mark)...]
            case .no where d.through == taken:
                break
            default:
                log("statistics: the store's figures (through tick \(d.through) of this run) do not fit what was kept; the day's figures count this run's ticks only")
                keeping = .no
                return
            }
            keeping = .no
            covered = d.checkpoints
            guard let base = d.statistics else { return }
            day = base.day
            baseMarketTime = base.marketTime
            statistics = statistics.indices.map { SymbolStatistics(symbol: SymbolID(UInt32($0))) }
            for s in base.symbols where Int(s.symbol.rawValue) < statistics.count && s.tradingDay != nil {
                statistics[Int(s.symbol.rawValue)] = s
            }
            // Every symbol is published again (a flag set means "already in `changed`").
            for i in statistics.indices { statistics[i].changed = true }
            changed = Array(statistics.indices)
            for tick in replay where !isResend(tick) { _ = count(tick) }
            publish(now: now)
        }
    }

    /// Room for symbols that joined the universe after the stage was made.
    private func grow(to count: Int) {
        for i in statistics.count..<count { statistics.append(SymbolStatistics(symbol: SymbolID(UInt32(i)))) }
        bookChanged += Array(repeating: false, count: count - bookChanged.count)
        lastRebuild += Array(repeating: .min, count: count - lastRebuild.count)
    }

    public func idle(now: Int64) {
        aggregator.tick(now: now, emit: send)
        if let stored { take(stored, now: now) }
        if now >= nextPublish { publish(now: now) }
    }

    public func finish() {
        aggregator.closeAll(emit: send)
        publish(now: .max)
    }

    /// A tick at `time` takes the market past the next snapshot's time: sends the top of book of
    /// the symbols that changed since the last snapshot, as it is before that tick, stamped with
    /// the first snapshot time passed (the state holds from then until the next row). Snapshots
    /// follow the ticks' exchange times alone, never the wall clock, so a recording gives the
    /// same rows at any speed and in batches of any size; the last interval, which the market's
    /// time never passed, gets none.
    private func snapshot(reaching time: Int64) {
        let at = nextSnapshot
        nextSnapshot = UTCTime.floor(time, toMultipleOf: options.snapshotIntervalNanos) &+ options.snapshotIntervalNanos
        guard at != .min, let snapshots else { return }
        for i in bookChanged.indices where bookChanged[i] {
            bookChanged[i] = false
            let s = statistics[i]
            snapshots.send(BookSnapshot(symbol: s.symbol, time: at, bid: s.bid ?? .zero, ask: s.ask ?? .zero,
                                        lastPrice: s.lastPrice ?? .zero, volume: s.volume, tradeCount: s.tradeCount))
        }
    }

    private func send(_ event: CandleAggregator.Event) {
        switch event {
        case .closed(let c):
            closed += 1
            for o in outlets { o.send(.closed, c) }
        case .corrected(let c):
            corrected += 1
            for o in outlets { o.send(.corrected, c) }
        case .late(let key):
            let s = Int(key.symbol.rawValue)
            guard lastRebuild[s] != key.start else { return }
            lastRebuild[s] = key.start
            let c = Candle(trade: Tick(symbol: key.symbol, kind: .trade, price: .zero, quantity: 0, exchangeTime: key.start))
            for o in outlets where o.lane.policy == .block { o.send(.rebuild, c) }
        }
    }

    /// The market moved on (a tick of a later trading day) or started: finds the trading day of
    /// `time`. Ticks of an earlier day than the current one leave the day alone.
    private func moveDay(to time: Int64) {
        if let day, time < day.start { return }
        guard let found = options.calendar.tradingDay(containing: time) else { return }
        day = found
        let year = UTCTime.civilFromDays(found.day).year
        if year > SessionCalendar.builtInHolidaysThrough && !warnedCalendarYear && options.calendar == SessionCalendar() {
            warnedCalendarYear = true
            log("calendar: the market's date \(found.date) is past the built-in BIST holiday list (through \(SessionCalendar.builtInHolidaysThrough)); add [calendar] holidays and half_days")
        }
    }

    private func publish(now: Int64) {
        nextPublish = now &+ options.publishIntervalNanos
        candlesClosed.store(closed, ordering: .relaxed)
        candlesCorrected.store(corrected, ordering: .relaxed)
        lateTrades.store(aggregator.lateTrades, ordering: .relaxed)
        previousDayTrades.store(olderDayTrades, ordering: .relaxed)
        // A quiet symbol still starts the new day: volume 0, the previous close moved on.
        if let day {
            for i in statistics.indices where (statistics[i].tradingDay ?? .max) < day.day {
                if !statistics[i].changed { changed.append(i) }
                statistics[i].roll(to: day.day)
            }
        }
        latest.publish(&statistics, changed: &changed, marketTime: aggregator.watermark == .min ? baseMarketTime : aggregator.watermark, tradingDay: day,
                       lanes: outlets.map(\.lane))
    }
}
