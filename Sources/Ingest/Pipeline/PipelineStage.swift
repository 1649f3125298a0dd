/// Work the pipeline thread does itself on every accepted tick, after handing the batch to the
/// consumer lanes: the aggregator, which owns per-symbol state and needs no thread of its own.
///
/// Called on the pipeline thread only. The same rules as the pipeline's: no locks, allocations or
/// system calls for an ordinary tick.
public protocol PipelineStage: AnyObject {
    /// Ticks that passed the sequence checks, in arrival order; `now` is the monotonic clock (ns).
    func process(_ ticks: UnsafeBufferPointer<Tick>, now: Int64)
    /// Called when the pipeline has nothing to do, at least every 100 ms: time-driven work.
    func idle(now: Int64)
    /// No more ticks will come. Called before the pipeline closes its lanes, so that what the
    /// stage hands on last still reaches their consumers.
    func finish()
}
