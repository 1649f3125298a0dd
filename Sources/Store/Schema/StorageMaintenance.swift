/// Keeps stored history inside its configured bounds. On TimescaleDB it reconciles the
/// compression and retention policies with the configured ages (a policy is replaced only when its
/// age differs, so jobs keep their ids and history), and TimescaleDB's jobs do the work.
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
        /// TimescaleDB: the policies checked, and those (re)created because they were missing or
        /// had another age.
        public var policies = 0
        public var policiesChanged = 0

        public init(droppedPartitions: Int = 0, droppedSnapshotPartitions: Int = 0, deletedCandles: Int = 0, deletedDefaultTicks: Int = 0,
                    policies: Int = 0, policiesChanged: Int = 0) {
            self.droppedPartitions = droppedPartitions
            self.droppedSnapshotPartitions = droppedSnapshotPartitions
            self.deletedCandles = deletedCandles
            self.deletedDefaultTicks = deletedDefaultTicks
            self.policies = policies
            self.policiesChanged = policiesChanged
        }

        /// Whether the run changed anything worth a log line.
        public var changedSomething: Bool { droppedPartitions + droppedSnapshotPartitions + deletedCandles + deletedDefaultTicks + policiesChanged > 0 }

        public var description: String {
            policies > 0
                ? "TimescaleDB compression and retention policies in place (\(policiesChanged) of \(policies) set now)"
                : "dropped \(droppedPartitions) day partitions of ticks, \(droppedSnapshotPartitions) of snapshots and \(deletedCandles) candles past retention"
                    + (deletedDefaultTicks > 0 ? ", and \(deletedDefaultTicks) unpartitioned rows" : "")
        }
    }

    @discardableResult
    public func run(on db: LibpqConnection, layout: StorageLayout) throws -> Report {
        var report = Report()
        try db.execute("BEGIN")
        do {
            switch layout {
            case .timescale:
                for table in ["market_ticks", "market_candles", "order_book_snapshots"] {
                    for policy in [Policy.compression(afterDays: compressAfterDays), .retention(afterDays: retentionDays)] {
                        report.policies += 1
                        if try policy.reconcile(table, on: db) { report.policiesChanged += 1 }
                    }
                }
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

/// A TimescaleDB policy on a hypertable, with the age it acts at.
private enum Policy {
    case compression(afterDays: Int)
    case retention(afterDays: Int)

    /// Leaves a policy that is there once with this age alone; otherwise replaces what is there.
    /// Returns whether it changed anything.
    func reconcile(_ table: String, on db: LibpqConnection) throws -> Bool {
        let (procedure, key, kind, days) = switch self {
        case .compression(let days): ("policy_compression", "compress_after", "compression", days)
        case .retention(let days): ("policy_retention", "drop_after", "retention", days)
        }
        let found = try db.execute("""
            SELECT count(*), count(*) FILTER (WHERE (config->>'\(key)')::interval = make_interval(days => $3::int))
            FROM timescaledb_information.jobs WHERE proc_name = $1 AND hypertable_schema = current_schema() AND hypertable_name = $2
            """, parameters: [procedure, table, String(days)]).rows[0]
        if found == ["1", "1"] { return false }
        try db.execute("SELECT remove_\(kind)_policy('\(table)', if_exists => true)")
        try db.execute("SELECT add_\(kind)_policy('\(table)', make_interval(days => \(days)))")
        return true
    }
}
