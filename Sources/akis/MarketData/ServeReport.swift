import Aggregator
import Ingest
import Store

/// The one-line summaries `akis serve` logs, read from the threads' published counters.
struct ServeReport {
    let readers: [any TickSource]
    let pipeline: Pipeline
    let aggregator: AggregationStage
    let writer: CopyBatchWriter?
    private var last: (decoded: UInt64, time: Int64)?
    /// The last summary logged (without its rate), and when.
    private var logged: (summary: String, time: Int64)?
    /// With nothing changing, a summary is logged this often (so the journal still shows the
    /// daemon alive) rather than at every interval.
    static let quietIntervalNanos: Int64 = 600_000_000_000

    init(readers: [any TickSource], pipeline: Pipeline, aggregator: AggregationStage, writer: CopyBatchWriter?) {
        self.readers = readers
        self.pipeline = pipeline
        self.aggregator = aggregator
        self.writer = writer
    }

    private func total(_ value: (FeedCounters) -> UInt64) -> UInt64 {
        readers.reduce(0) { sum, r in r.counters.reduce(sum) { $0 + value($1) } }
    }

    private func totalSequence(_ value: (SequenceCounters) -> UInt64) -> UInt64 {
        pipeline.sequenceCounters.reduce(0) { $0 + value($1) }
    }

    /// Starts the decode rate's clock.
    mutating func start(now: Int64) {
        last = (total { $0.ticks.load(ordering: .relaxed) }, now)
    }

    /// The summary with the decode rate since the previous call, or nil when nothing has changed
    /// since the last one logged and `quietIntervalNanos` has not passed: a quiet feed makes a
    /// quiet journal.
    mutating func periodicSummary(now: Int64) -> String? {
        let decoded = total { $0.ticks.load(ordering: .relaxed) }
        let previous = last
        last = (decoded, now)
        let current = summary()
        if let logged, logged.summary == current, now - logged.time < Self.quietIntervalNanos { return nil }
        logged = (current, now)
        guard let previous, now > previous.time else { return current }
        let rate = Double(decoded - previous.decoded) / (Double(now - previous.time) / 1e9)
        return current + "; rate \(grouped(UInt64(rate.rounded()))) ticks/s"
    }

    func summary() -> String {
        var kinds: [FrameErrorKind: UInt64] = [:]
        for r in readers { for c in r.counters { for (k, n) in c.rejectedByKind() { kinds[k, default: 0] += n } } }
        let rejectedDetail = kinds.isEmpty ? "" : " (" + kinds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + ")"
        let lanes = pipeline.lanes
        let dropped = lanes.reduce(0) { $0 + $1.dropped.load(ordering: .relaxed) }
        let bytes = total { $0.bytes.load(ordering: .relaxed) }
        let decoded = total { $0.ticks.load(ordering: .relaxed) }
        let rejected = total { $0.rejected.load(ordering: .relaxed) }
        let kernelDrops = total { $0.kernelDrops.load(ordering: .relaxed) }
        let duplicates = totalSequence { $0.duplicates.load(ordering: .relaxed) }
        let gaps = totalSequence { $0.gaps.load(ordering: .relaxed) }
        let missing = totalSequence { $0.missing.load(ordering: .relaxed) }
        let filled = totalSequence { $0.filled.load(ordering: .relaxed) }
        let readerWaits = readers.reduce(0) { $0 + $1.ringFullWaits.load(ordering: .relaxed) }
        let laneWaits = lanes.reduce(0) { $0 + $1.fullWaits.load(ordering: .relaxed) }
        let delivered = lanes.map { "\($0.name) \(grouped($0.delivered.load(ordering: .relaxed)))" }.joined(separator: ", ")
        var parts: [String] = []
        parts.append("received \(grouped(bytes)) bytes")
        parts.append("decoded \(grouped(decoded))")
        parts.append("rejected \(grouped(rejected))\(rejectedDetail)")
        parts.append("duplicates \(grouped(duplicates))")
        parts.append("gaps \(grouped(gaps)) (\(grouped(missing)) missing, \(grouped(filled)) filled late)")
        parts.append("delivered \(delivered)")
        parts.append("candles \(grouped(aggregator.candlesClosed.load(ordering: .relaxed))) closed, \(grouped(aggregator.candlesCorrected.load(ordering: .relaxed))) corrected, "
            + "\(grouped(aggregator.lateTrades.load(ordering: .relaxed))) late trades")
        if let writer {
            parts.append("stored \(grouped(writer.storedTicks.load(ordering: .relaxed))) in \(grouped(writer.committedBatches.load(ordering: .relaxed))) batches"
                + " (\(grouped(writer.failedAttempts.load(ordering: .relaxed))) failed attempts, \(grouped(writer.rejectedRows.load(ordering: .relaxed))) rows rejected)")
            parts.append("candles stored \(grouped(writer.candlesUpserted.load(ordering: .relaxed))), rebuilt \(grouped(writer.candlesRebuilt.load(ordering: .relaxed)))"
                + "; snapshots \(grouped(writer.snapshotsStored.load(ordering: .relaxed)))")
            let spooled = writer.spool.count
            if spooled > 0 || writer.spooledBatches.load(ordering: .relaxed) > 0 {
                parts.append("spool \(grouped(UInt64(spooled))) batches (\(grouped(UInt64(writer.spool.bytes))) bytes)\(writer.spoolAlarm.load(ordering: .relaxed) ? " FULL" : "")")
            }
        }
        parts.append("dropped \(grouped(dropped))")
        parts.append("ring-full waits \(grouped(readerWaits + laneWaits))")
        parts.append("kernel drops \(grouped(kernelDrops))")
        return parts.joined(separator: "; ")
    }

    /// One line per feed, for the end of a run.
    func feedLines() -> [String] {
        var lines: [String] = []
        var index = 0
        for reader in readers {
            for (feed, c) in zip(reader.feeds, reader.counters) {
                let s = pipeline.sequenceCounters[index]
                index += 1
                lines.append("feed \(feed.name): \(grouped(c.ticks.load(ordering: .relaxed))) ticks, "
                    + "\(grouped(c.rejected.load(ordering: .relaxed))) rejected, "
                    + "\(c.connections.load(ordering: .relaxed)) connections, \(c.disconnects.load(ordering: .relaxed)) disconnects, "
                    + "\(c.connectFailures.load(ordering: .relaxed)) failed connects, "
                    + "\(s.gaps.load(ordering: .relaxed)) gaps (\(s.missing.load(ordering: .relaxed)) missing), "
                    + "\(s.duplicates.load(ordering: .relaxed)) duplicates, path \(reader.receiveDescription)")
            }
        }
        return lines
    }
}
