import Ingest

/// One unit of storage: the ticks of one flush, numbered in the order the writer commits them.
/// The number is what makes a retry exactly-once (see `ingest_writers`).
struct StoreBatch: Sendable {
    var number: Int64
    var ticks: [Tick]
    /// The binary COPY stream of `ticks`, when the consumer thread already encoded it; batches read
    /// back from the spool are encoded by the committer.
    var copyData: [UInt8]?
}
