import Ingest

/// The one clock a bench measures with: monotonic time, written as wall-clock nanoseconds from a
/// base taken once, so that scheduled times stamped on ticks and receive times compare exactly
/// and a wall-clock step during the run changes nothing.
public struct BenchClock: Sendable {
    public let monotonicBase: Int64
    public let wallBase: Int64

    public init() {
        monotonicBase = Clock.monotonicNanos()
        wallBase = Clock.wallNanos()
    }

    @inline(__always) public func wall(atMonotonic mono: Int64) -> Int64 { wallBase + (mono - monotonicBase) }
    @inline(__always) public func now() -> Int64 { wall(atMonotonic: Clock.monotonicNanos()) }
}
