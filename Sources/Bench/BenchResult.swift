/// Everything a bench run measured, as written to its JSON result file (times in nanoseconds,
/// rates per second, CPU in percent of one core).
public struct BenchResult: Sendable, Codable {
    public struct Feed: Sendable, Codable {
        public var source: String
        public var symbols: Int
        public var ticks: Int
        /// Ticks per second the schedule offers (ticks over the time from first to last).
        public var offeredRate: Double
        public var scheduleSeconds: Double
    }

    public struct Sender: Sendable, Codable {
        public var ticks: UInt64
        public var bytes: UInt64
        /// Ticks per second actually sent (from the first due time to the last send).
        public var achievedRate: Double
        /// Send time − scheduled time.
        public var lateness: LatencySummary
    }

    public struct Group: Sendable, Codable {
        public var name: String
        public var clients: Int
        public var expectedTicks: UInt64
        public var deliveredTicks: UInt64
        public var candles: UInt64
        /// Places where a client's ticks of a symbol skipped some, and how many were skipped.
        public var gaps: UInt64
        public var missingInGaps: UInt64
        /// Ticks never received after a client's last one of their symbol.
        public var missingAtEnd: UInt64
        public var outOfOrder: UInt64
        public var unexpected: UInt64
        /// Clients the server closed (with its code and reason) or that failed.
        public var closed: [String]
        public var errors: [String]
        /// Receive time − scheduled time.
        public var latency: LatencySummary
        public var worstClientP99: Int64
        /// The latency distribution by percentile, for plots.
        public var curve: [CurvePoint]
    }

    /// One subscriber's share.
    public struct Client: Sendable, Codable {
        public var client: Int
        public var group: String
        public var symbols: [String]
        public var expectedTicks: UInt64
        public var deliveredTicks: UInt64
        public var gaps: UInt64
        public var latency: LatencySummary
        /// How its connection ended early, if it did.
        public var closed: String?
    }

    public struct Storage: Sendable, Codable {
        public var sent: UInt64
        /// Ticks the daemon reports committed (`akis_store_ticks_total`) during the run.
        public var committed: UInt64
        /// This run's rows counted in `market_ticks` afterwards, when the bench owns the database.
        public var rows: UInt64?
        /// Scheduled time − commit seen, by polling the daemon every `pollMillis`.
        public var lag: LatencySummary
        public var pollMillis: Int
        public var peakSpoolBatches: Double
    }

    /// One second of the run.
    public struct Second: Sendable, Codable {
        public var second: Int
        public var sent: UInt64
        public var delivered: UInt64
        public var committed: UInt64?
        public var daemonResidentBytes: UInt64?
    }

    public var version = 1
    public var startedAt: String
    public var command: String
    public var daemon: String
    public var storeMode: String
    public var feed: Feed
    public var sender: Sender
    public var groups: [Group]
    public var clients: [Client]
    public var all: LatencySummary
    /// Losses by where they happened (0 everywhere for a pass).
    public var drops: [String: UInt64]
    public var storage: Storage?
    public var daemonCPU: [ThreadCPU]
    public var daemonPeakResidentBytes: UInt64?
    public var benchCPU: [ThreadCPU]
    public var messagesPerSecond: Double
    /// From the last tick sent until every client had its ticks and storage had committed them.
    public var catchUpSeconds: Double
    public var timeline: [Second]
    /// Why the run is not a pass; empty for a pass.
    public var failures: [String]
    public var latencyCurve: [CurvePoint]

    public struct CurvePoint: Sendable, Codable {
        public var percentile: Double
        public var nanos: Int64
    }

    public var passed: Bool { failures.isEmpty }
}
