/// The JSON a bench writes: its runs (one, or one per `--find-max` step), the search, and the
/// baselines measured in the same run.
public struct BenchOutput: Sendable, Codable {
    public struct FindMax: Sendable, Codable {
        public struct Step: Sendable, Codable {
            public var rate: Double
            /// Why the step did not hold its rate; nil when it did.
            public var failure: String?
            public init(rate: Double, failure: String?) { self.rate = rate; self.failure = failure }
        }
        public var p99BoundNanos: Int64
        public var steps: [Step]
        /// The highest rate held for a whole step (nil: not even the first).
        public var highestRate: Double?
        public init(p99BoundNanos: Int64, steps: [Step], highestRate: Double?) {
            self.p99BoundNanos = p99BoundNanos
            self.steps = steps
            self.highestRate = highestRate
        }
    }

    /// psql's own `\copy (FORMAT binary)` of the rows the run stored, into the same table emptied.
    public struct PsqlCopy: Sendable, Codable {
        public var rows: UInt64
        public var seconds: Double
        public var rowsPerSecond: Double
        public init(rows: UInt64, seconds: Double, rowsPerSecond: Double) {
            self.rows = rows
            self.seconds = seconds
            self.rowsPerSecond = rowsPerSecond
        }
    }

    /// Redis pub/sub carrying the same ticks to the same subscriber mix, measured the same way.
    public struct Redis: Sendable, Codable {
        public var runs: [BenchResult]
        public var findMax: FindMax?
        public init(runs: [BenchResult], findMax: FindMax?) {
            self.runs = runs
            self.findMax = findMax
        }
    }

    public var version = 1
    /// Akis: one run, or one per `--find-max` step.
    public var runs: [BenchResult]
    public var findMax: FindMax?
    public var psqlCopy: PsqlCopy?
    public var redis: Redis?

    public init(runs: [BenchResult], findMax: FindMax? = nil, psqlCopy: PsqlCopy? = nil) {
        self.runs = runs
        self.findMax = findMax
        self.psqlCopy = psqlCopy
    }
}
