/// Keeps stored history inside its configured bounds. On TimescaleDB it (re)installs the
/// compression and retention policies with the configured ages, and TimescaleDB's jobs do the work.
/// On plain PostgreSQL it does that work itself: creates the day partitions (ticks, snapshots)
/// ahead of time, drops the ones past retention, and deletes candles past retention. Run at start and then periodically;
/// running it twice in a row changes nothing.
public struct StorageMaintenance: Sendable, Equatable {
    /// Ticks and candles older than this many days (by UTC day) are dropped.
    public var retentionDays: Int
    /// TimescaleDB compresses chunks older than this many days.
    public var compressAfterDays: Int
    /// Day partitions created ahead of today (plain layout).
    public var partitionsAhead: Int

    public init(retentionDays: Int = 365, compressAfterDays: Int = 1, partitionsAhead: Int = 3) {
        self.retentionDays = retentionDays
        self.compressAfterDays = compressAfterDays
        self.partitionsAhead = partitionsAhead
    }

    /// What one run did.
    public struct Report: Sendable, Equatable, CustomStringConvertible {
        public var droppedPartitions = 0
        public var droppedSnapshotPartitions = 0
        public var deletedCandles = 0
        public var deletedDefaultTicks = 0
        public var policies = false

        public init(droppedPartitions: Int = 0, droppedSnapshotPartitions: Int = 0, deletedCandles: Int = 0, deletedDefaultTicks: Int = 0,
                    policies: Bool = false) {
            self.droppedPartitions = droppedPartitions
            self.droppedSnapshotPartitions = droppedSnapshotPartitions
            self.deletedCandles = deletedCandles
            self.deletedDefaultTicks = deletedDefaultTicks
            self.policies = policies
        }

        public var description: String {
            policies
                ? "TimescaleDB compression and retention policies in place"
                : "dropped \(droppedPartitions) day partitions of ticks, \(droppedSnapshotPartitions) of snapshots and \(deletedCandles) candles past retention"
                    + (deletedDefaultTicks > 0 ? ", and \(deletedDefaultTicks) unpartitioned rows" : "")
        }
    }

    @discardableResult
    public func run(on db: PostgresConnection, layout: StorageLayout) throws -> Report {
        var report = Report()
        try db.execute("BEGIN")
        do {
            switch layout {
            case .timescale:
                for table in ["market_ticks", "market_candles", "order_book_snapshots"] {
                    try db.execute("SELECT remove_compression_policy('\(table)', if_exists => true)")
                    try db.execute("SELECT add_compression_policy('\(table)', INTERVAL '\(compressAfterDays) days')")
                    try db.execute("SELECT remove_retention_policy('\(table)', if_exists => true)")
                    try db.execute("SELECT add_retention_policy('\(table)', INTERVAL '\(retentionDays) days')")
                }
                report.policies = true
            case .plain:
                let today = "(now() AT TIME ZONE 'UTC')::date"
                let cutoff = "(\(today) - \(retentionDays))"
                try db.execute("SELECT akis_ensure_tick_partition(\(today) + d) FROM generate_series(0, \(partitionsAhead)) AS d")
                try db.execute("SELECT akis_ensure_snapshot_partition(\(today) + d) FROM generate_series(0, \(partitionsAhead)) AS d")
                report.droppedPartitions = Int(try db.execute("SELECT akis_drop_tick_partitions_before(\(cutoff))").rows[0][0] ?? "0") ?? 0
                report.droppedSnapshotPartitions = Int(try db.execute("SELECT akis_drop_snapshot_partitions_before(\(cutoff))").rows[0][0] ?? "0") ?? 0
                let cutoffTime = "(\(cutoff)::timestamp AT TIME ZONE 'UTC')"
                report.deletedCandles = try db.execute("DELETE FROM market_candles WHERE bucket < \(cutoffTime)").affectedRows
                report.deletedDefaultTicks = try db.execute("DELETE FROM market_ticks_default WHERE time < \(cutoffTime)").affectedRows
                    + db.execute("DELETE FROM order_book_snapshots_default WHERE time < \(cutoffTime)").affectedRows
            }
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
        return report
    }
}
