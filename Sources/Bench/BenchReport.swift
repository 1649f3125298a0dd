import Foundation
import Ingest

/// The bench's report as text: what was offered and achieved, delivery and losses, latency per
/// client group, storage, and CPU and memory.
public enum BenchReport {
    public static func text(_ r: BenchResult) -> String {
        var out: [String] = []
        func ms(_ nanos: Int64) -> String { String(format: "%.3f", Double(nanos) / 1e6) }
        func percentiles(_ s: LatencySummary) -> String {
            "p50 \(ms(s.p50))  p90 \(ms(s.p90))  p99 \(ms(s.p99))  p99.9 \(ms(s.p999))  p99.99 \(ms(s.p9999))  max \(ms(s.max)) ms"
        }
        out.append("akis bench: \(r.passed ? "PASS" : "FAIL")  (\(r.command))")
        out.append("daemon: \(r.daemon); storage: \(r.storeMode)")
        out.append(String(format: "feed: %@, %d symbols, %@ ticks over %.1f s; offered %@ ticks/s, achieved %@ ticks/s",
                          r.feed.source, r.feed.symbols, grouped(UInt64(r.feed.ticks)), r.feed.scheduleSeconds,
                          grouped(UInt64(r.feed.offeredRate.rounded())), grouped(UInt64(r.sender.achievedRate.rounded()))))
        out.append("sender lateness (send − schedule): \(percentiles(r.sender.lateness))")
        out.append(String(format: "delivered: %@ tick messages/s to %d clients; everything in %.2f s after the last tick was sent",
                          grouped(UInt64(r.messagesPerSecond.rounded())), r.groups.reduce(0) { $0 + $1.clients }, r.catchUpSeconds))
        out.append("")
        out.append("latency, tick scheduled → received by the client (ms):")
        for g in r.groups {
            out.append("  \(g.name), \(g.clients) clients: \(percentiles(g.latency)); worst client's p99 \(ms(g.worstClientP99))")
            out.append("    ticks \(grouped(g.deliveredTicks)) of \(grouped(g.expectedTicks)) expected, candles \(grouped(g.candles)), "
                       + "gaps \(g.gaps) (\(grouped(g.missingInGaps)) ticks), missing at the end \(grouped(g.missingAtEnd)), out of order \(g.outOfOrder), unexpected \(g.unexpected)")
            for line in (g.closed + g.errors).prefix(5) { out.append("    \(line)") }
        }
        if r.groups.count > 1 { out.append("  all clients: \(percentiles(r.all))") }
        let short = r.clients.filter { $0.deliveredTicks != $0.expectedTicks }
        if !r.clients.isEmpty {
            out.append(short.isEmpty ? "  every one of the \(r.clients.count) clients received every tick it subscribed to"
                       : "  \(short.count) of \(r.clients.count) clients short: " + short.prefix(8).map { "client \($0.client) \(grouped($0.deliveredTicks)) of \(grouped($0.expectedTicks))" }.joined(separator: ", "))
        }
        out.append("")
        out.append("drops by reason:")
        for (reason, n) in r.drops.sorted(by: { $0.key < $1.key }) { out.append("  \(reason): \(grouped(n))") }
        if let s = r.storage {
            out.append("")
            out.append("storage: \(grouped(s.committed)) of \(grouped(s.sent)) ticks committed" + (s.rows.map { ", \(grouped($0)) rows in market_ticks" } ?? "")
                       + String(format: "; spool peak %.0f batches", s.peakSpoolBatches))
            out.append("  lag, scheduled → committed (polled every \(s.pollMillis) ms): p50 \(ms(s.lag.p50)) p99 \(ms(s.lag.p99)) max \(ms(s.lag.max)) ms")
        }
        out.append("")
        if !r.daemonCPU.isEmpty {
            let total = r.daemonCPU.reduce(0) { $0 + $1.percentOfCore }
            out.append(String(format: "daemon CPU: %.0f%% of one core: ", total) + cpu(r.daemonCPU))
        }
        if let peak = r.daemonPeakResidentBytes { out.append("daemon peak RSS: \(peak >> 20) MiB") }
        let benchTotal = r.benchCPU.reduce(0) { $0 + $1.percentOfCore }
        out.append(String(format: "bench process CPU (sender and clients): %.0f%% of one core: ", benchTotal) + cpu(r.benchCPU))
        if !r.failures.isEmpty {
            out.append("")
            out.append("not a pass:")
            for f in r.failures { out.append("  \(f)") }
        }
        return out.joined(separator: "\n")
    }

    private static func cpu(_ threads: [ThreadCPU]) -> String {
        threads.filter { $0.percentOfCore >= 0.5 }.map { String(format: "%@ %.0f%%", $0.thread, $0.percentOfCore) }.joined(separator: ", ")
    }
}

extension BenchReport {
    /// The find-max table and the baselines, with Akis as a ratio to them.
    public static func summary(_ o: BenchOutput) -> String {
        var out: [String] = []
        if let f = o.findMax {
            out.append("")
            out.append(String(format: "find-max (p99 bound %.1f ms):", Double(f.p99BoundNanos) / 1e6))
            for (step, run) in zip(f.steps, o.runs) {
                out.append(String(format: "  %@ ticks/s: %@; p99 %.3f ms, %@ messages/s", grouped(UInt64(step.rate)), step.failure.map { "not held (\($0))" } ?? "held",
                                  Double(run.all.p99) / 1e6, grouped(UInt64(run.messagesPerSecond))))
            }
            out.append("highest rate held: " + (f.highestRate.map { "\(grouped(UInt64($0))) ticks/s" } ?? "none (the first step did not hold)"))
        }
        if let redis = o.redis {
            out.append("")
            out.append("baseline Redis pub/sub, the same ticks to the same subscriber mix through the same client process:")
            if let f = redis.findMax {
                for (step, run) in zip(f.steps, redis.runs) {
                    out.append(String(format: "  %@ ticks/s: %@; p99 %.3f ms, %@ messages/s", grouped(UInt64(step.rate)), step.failure.map { "not held (\($0))" } ?? "held",
                                      Double(run.all.p99) / 1e6, grouped(UInt64(run.messagesPerSecond))))
                }
                out.append("  Redis's highest rate held: " + (f.highestRate.map { "\(grouped(UInt64($0))) ticks/s" } ?? "none"))
                func run(at rate: Double, _ search: BenchOutput.FindMax?, _ runs: [BenchResult]) -> BenchResult? {
                    search?.steps.firstIndex { $0.rate == rate }.map { runs[$0] }
                }
                if let a = o.findMax?.highestRate, let r = f.highestRate, let akisRun = run(at: a, o.findMax, o.runs), let redisRun = run(at: r, f, redis.runs) {
                    out.append(String(format: "  fan-out at the highest rate held: akis %@ messages/s, Redis %@ messages/s: akis %.2f× Redis (rates %.2f×)",
                                      grouped(UInt64(akisRun.messagesPerSecond)), grouped(UInt64(redisRun.messagesPerSecond)),
                                      akisRun.messagesPerSecond / max(1, redisRun.messagesPerSecond), a / r))
                }
            } else if let a = o.runs.first, let r = redis.runs.first {
                func ratio(_ x: Int64, _ y: Int64) -> String { y > 0 ? String(format: "%.2f×", Double(x) / Double(y)) : "–" }
                out.append(String(format: "  Redis: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms; %@ messages/s%@", Double(r.all.p50) / 1e6, Double(r.all.p99) / 1e6,
                                  Double(r.all.p999) / 1e6, Double(r.all.max) / 1e6, grouped(UInt64(r.messagesPerSecond)), r.passed ? "" : " (not a pass)"))
                out.append("  akis latency as a multiple of Redis's: p50 \(ratio(a.all.p50, r.all.p50)), p99 \(ratio(a.all.p99, r.all.p99)), p99.9 \(ratio(a.all.p999, r.all.p999))")
                out.append(String(format: "  messages/s delivered: akis %.2f× Redis", a.messagesPerSecond / max(1, r.messagesPerSecond)))
                let akisCPU = a.daemonCPU.reduce(0) { $0 + $1.percentOfCore }, redisCPU = r.daemonCPU.reduce(0) { $0 + $1.percentOfCore }
                if akisCPU > 0 && redisCPU > 0 {
                    out.append(String(format: "  server CPU: akis %.0f%% of a core (all its work: ingest, candles, storage), redis-server %.0f%%", akisCPU, redisCPU))
                }
            }
        }
        if let p = o.psqlCopy {
            out.append("")
            out.append(String(format: "baseline psql \\copy (FORMAT binary): %@ rows in %.2f s = %@ rows/s", grouped(p.rows), p.seconds, grouped(UInt64(p.rowsPerSecond))))
            if let highest = o.findMax?.highestRate, o.runs.contains(where: { $0.storage != nil }) {
                out.append(String(format: "  akis's highest rate held into PostgreSQL is %.0f%% of psql's", highest / p.rowsPerSecond * 100))
            } else if let run = o.runs.last, run.storage != nil {
                out.append(String(format: "  this run's rate is %.0f%% of psql's (a run that is not --find-max does not say what the store can hold)", run.sender.achievedRate / p.rowsPerSecond * 100))
            }
        }
        return out.joined(separator: "\n")
    }
}
