import Ingest
import Synchronization

/// Carries the trading day's statistics as the store holds them from the store writer to the
/// aggregator, which then counts its ticks on top of them.
///
/// At start, when the database answers, the writer delivers them before the first tick (`through`
/// 0). A run that started without its database gets them once PostgreSQL is back and the spool
/// is drained: the writer asks, the aggregator marks how many ticks it has taken and keeps the
/// ones after the mark, the writer delivers the stored figures once its committed batches reach
/// the mark (`through`: this run's ticks they include), and the aggregator replaces its own
/// figures with them plus its kept ticks after `through`. Every tick counts once, and ticks at
/// or below the stored checkpoints (a feed's resend of what an earlier run stored, which the
/// writer does not store again) do not count from then on.
///
/// Tick counts are the aggregator's, which are the store writer's too: the store lane never drops
/// (its `on_full` is always `block`), and the pipeline hands each batch to the lane before the
/// aggregator takes it.
public final class StoredStatisticsHandoff: Sendable {
    /// What the writer delivers.
    public struct Delivery: Sendable {
        /// Nil when nothing is stored for a trading day, or the rebuild failed.
        public var statistics: DayStatistics?
        /// How many of this run's ticks the figures include (the first ones).
        public var through: UInt64
        /// The feeds' stored checkpoints when the writer learned them (empty at start).
        public var checkpoints: [UInt16: UInt64]

        public init(statistics: DayStatistics?, through: UInt64, checkpoints: [UInt16: UInt64] = [:]) {
            self.statistics = statistics
            self.through = through
            self.checkpoints = checkpoints
        }
    }

    enum State {
        case idle
        case asked
        case marked(UInt64)
        case delivered(Delivery)
    }

    private let state = Mutex(State.idle)
    /// Set when the aggregator has something to take, so that it looks without the lock.
    private let pending = Atomic<Bool>(false)

    public init() {}

    // MARK: Writer side

    /// The writer will deliver after the aggregator's mark (see `mark`).
    public func ask() {
        state.withLock { $0 = .asked }
        pending.store(true, ordering: .releasing)
    }

    /// How many ticks the aggregator had taken when it saw the request; nil until then.
    public var mark: UInt64? {
        state.withLock { if case .marked(let m) = $0 { return m } else { return nil } }
    }

    public func deliver(_ delivery: Delivery) {
        state.withLock { $0 = .delivered(delivery) }
        pending.store(true, ordering: .releasing)
    }

    // MARK: Aggregator side

    enum Taken {
        case nothing
        /// Asked: the aggregator keeps its ticks after `taken` from now on.
        case ask
        case delivery(Delivery)
    }

    /// Called by the aggregator between tick batches, having taken `taken` ticks.
    func take(taken: UInt64) -> Taken {
        guard pending.load(ordering: .acquiring) else { return .nothing }
        return state.withLock { s in
            pending.store(false, ordering: .relaxed)
            switch s {
            case .asked:
                s = .marked(taken)
                return .ask
            case .delivered(let d):
                s = .idle
                return .delivery(d)
            case .idle, .marked:
                return .nothing
            }
        }
    }
}
