import Bench
import Foundation
import TestSupport
import Testing

/// `akis bench` end to end: a private PostgreSQL, a daemon, real WebSocket clients. Checks the
/// report's counts, never its timings.
@Suite(.offThePool, .serialized, .timeLimit(.minutes(5))) struct BenchCommandTests {
    func output(at path: String) throws -> BenchOutput {
        try JSONDecoder().decode(BenchOutput.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func result(at path: String) throws -> BenchResult {
        let runs = try output(at: path).runs
        try #require(runs.count == 1)
        return runs[0]
    }

    @Test func aShortBenchDeliversAndStoresEveryTick() throws {
        let dir = scratchFile("bench")
        let json = "\(dir)/out/result.json"
        var arguments = ["bench", "--rate", "3000", "--duration", "3", "--symbols", "10", "--clients", "5", "--symbols-per-client", "2",
                         "--firehose", "1", "--dir", dir, "--json", json]
        if ProcessInfo.processInfo.environment["AKIS_PG_TIMESCALEDB"] == "1" { arguments.append("--timescaledb") }
        let run = try AkisProcess(arguments).wait(timeoutSeconds: 240)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("akis bench: PASS"))
        #expect(run.stdout.contains("latency, tick scheduled → received by the client"))
        #expect(run.stderr.contains("bench: 1 s: sent"), "a progress line a second")
        let r = try result(at: json)
        #expect(r.feed.ticks > 8_000 && r.feed.ticks < 10_000, "about 3 s at 3,000 ticks/s: \(r.feed.ticks)")
        #expect(r.sender.ticks == UInt64(r.feed.ticks))
        #expect(r.groups.map(\.clients) == [1, 4])
        // The firehose client sees every tick; four clients of two symbols each cover 8 of the 10.
        #expect(r.groups[0].expectedTicks == UInt64(r.feed.ticks))
        #expect(r.groups[1].expectedTicks > 0 && r.groups[1].expectedTicks < UInt64(r.feed.ticks) * 4)
        for g in r.groups {
            #expect(g.deliveredTicks == g.expectedTicks, "\(g.name)")
            #expect(g.latency.count == g.deliveredTicks)
            #expect(g.gaps == 0 && g.missingAtEnd == 0 && g.outOfOrder == 0 && g.unexpected == 0)
            #expect(g.closed.isEmpty && g.errors.isEmpty, "\(g.closed) \(g.errors)")
        }
        #expect(r.drops.values.allSatisfy { $0 == 0 }, "\(r.drops)")
        let storage = try #require(r.storage)
        #expect(storage.committed == UInt64(r.feed.ticks))
        #expect(storage.rows == UInt64(r.feed.ticks))
        #expect(storage.lag.count == UInt64(r.feed.ticks))
        #expect(r.failures.isEmpty && r.passed)
        #expect(r.daemonCPU.contains { $0.thread == "akis-pipeline" })
        #expect((r.daemonPeakResidentBytes ?? 0) > 1 << 20)
        #expect(r.timeline.count >= 3 && r.timeline.last!.sent == UInt64(r.feed.ticks))
        // The bench stops what it started: the daemon and its PostgreSQL.
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/postgres\(arguments.contains("--timescaledb") ? "-timescaledb" : "")/data/postmaster.pid"))
    }

    @Test func withANullStoreNothingIsStoredAndRedisCarriesTheSameTicks() throws {
        let dir = scratchFile("bench-null")
        let run = try AkisProcess(["bench", "--rate", "2000", "--duration", "2", "--symbols", "5", "--clients", "3", "--symbols-per-client", "1",
                                   "--firehose", "1", "--null-store", "--redis-baseline", "--dir", dir]).wait(timeoutSeconds: 120)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let o = try output(at: "\(dir)/result.json")
        let r = try #require(o.runs.first)
        #expect(r.storage == nil)
        #expect(r.storeMode.contains("counting sink"))
        #expect(r.groups.allSatisfy { $0.deliveredTicks == $0.expectedTicks && $0.deliveredTicks > 0 })
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/postgres"), "no PostgreSQL for a null store")
        // Redis pub/sub: the same number of ticks to the same mix, every one delivered and checked.
        let redis = try #require(o.redis?.runs.first)
        #expect(redis.daemon.contains("redis-server"))
        #expect(redis.feed.ticks == r.feed.ticks || abs(redis.feed.ticks - r.feed.ticks) < r.feed.ticks / 10, "same rate and length")
        #expect(redis.groups.map(\.clients) == r.groups.map(\.clients))
        for g in redis.groups {
            #expect(g.deliveredTicks == g.expectedTicks && g.deliveredTicks > 0, "\(g.name)")
            #expect(g.gaps == 0 && g.outOfOrder == 0 && g.unexpected == 0 && g.latency.count == g.deliveredTicks)
        }
        #expect(run.stdout.contains("akis latency as a multiple of Redis's"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/latency.svg"))
    }

    @Test func findMaxClimbsUntilTheCeilingAndThePsqlBaselineRunsAfter() throws {
        let dir = scratchFile("bench-max")
        let run = try AkisProcess(["bench", "--find-max", "--rate", "1000", "--max-rate", "1500", "--p99-bound", "10000", "--duration", "2",
                                   "--symbols", "5", "--clients", "2", "--symbols-per-client", "1", "--firehose", "1", "--psql-baseline",
                                   "--dir", dir]).wait(timeoutSeconds: 200)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let o = try output(at: "\(dir)/result.json")
        let f = try #require(o.findMax)
        #expect(f.steps.map(\.rate) == [1000, 1500])
        #expect(f.steps.allSatisfy { $0.failure == nil })
        #expect(f.highestRate == 1500)
        #expect(o.runs.count == 2 && o.runs.allSatisfy(\.passed))
        // Both steps stored every tick; psql then copied all of them back.
        let stored = o.runs.reduce(UInt64(0)) { $0 + ($1.storage?.committed ?? 0) }
        #expect(stored == o.runs.reduce(UInt64(0)) { $0 + UInt64($1.feed.ticks) })
        let psql = try #require(o.psqlCopy)
        #expect(psql.rows == stored && psql.rowsPerSecond > 0)
        #expect(run.stdout.contains("highest rate held: 1,500 ticks/s"))

        // A bound no run can meet: the first step does not hold, and the exit status says so.
        let strict = try AkisProcess(["bench", "--find-max", "--rate", "1000", "--p99-bound", "0.000001", "--duration", "1", "--symbols", "5",
                                      "--clients", "1", "--symbols-per-client", "1", "--firehose", "0", "--null-store", "--dir", scratchFile("bench-strict")])
            .wait(timeoutSeconds: 120)
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("not held (p99"), "\(strict.stdout)")
        #expect(strict.stdout.contains("highest rate held: none"))
    }

    @Test func aRunningDaemonIsMeasuredWhereItIs() throws {
        let (serve, feed, http) = try AkisCLITests().startServe("address = \"tcp://127.0.0.1:0\"")
        defer { serve.process.terminate(); _ = serve.wait() }
        let dir = scratchFile("bench-daemon")
        let run = try AkisProcess(["bench", "--daemon", http, "--feed", feed, "--rate", "2000", "--duration", "2", "--clients", "3",
                                   "--symbols-per-client", "2", "--firehose", "1", "--dir", dir]).wait(timeoutSeconds: 120)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let r = try result(at: "\(dir)/result.json")
        #expect(r.daemon == "running daemon at \(http)")
        #expect(r.storage == nil, "that daemon has no database: nothing to wait for")
        #expect(r.clients.count == 3 && r.clients.allSatisfy { $0.deliveredTicks == $0.expectedTicks && $0.closed == nil })
        #expect(r.clients[0].symbols.count == 30 && r.clients[1].symbols.count == 2)
        #expect(r.drops.values.allSatisfy { $0 == 0 }, "\(r.drops)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/postgres"))
    }

    @Test func ctrlCEndsTheRunWithAReportAndStopsWhatItStarted() throws {
        let dir = scratchFile("bench-interrupted")
        let bench = try AkisProcess(["bench", "--rate", "2000", "--duration", "60", "--symbols", "5", "--clients", "2", "--symbols-per-client", "1",
                                     "--firehose", "1", "--dir", dir])
        let deadline = Date().addingTimeInterval(120)
        while !bench.log.contains("bench: 2 s: sent") {
            guard Date() < deadline, bench.process.isRunning else { Issue.record("no progress: \(bench.wait(timeoutSeconds: 0))"); return }
            sleepBlocking(.microseconds(50_000))
        }
        kill(bench.process.processIdentifier, SIGINT)
        let run = bench.wait(timeoutSeconds: 60)
        #expect(run.status == 130, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("interrupted after"), "\(run.stdout)")
        let r = try result(at: "\(dir)/result.json")
        #expect(r.sender.ticks > 0 && r.sender.ticks < UInt64(r.feed.ticks))
        // What was sent was delivered and stored: the counts are against the ticks sent.
        #expect(r.groups.allSatisfy { $0.deliveredTicks == $0.expectedTicks && $0.gaps == 0 })
        #expect(r.storage?.committed == r.sender.ticks)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/postgres/data/postmaster.pid"), "PostgreSQL stopped")
    }

    @Test func badOptionsAreRefusedWithTheOptionNamed() throws {
        let firehose = try akis("bench", "--clients", "2", "--firehose", "3", "--null-store", "--dir", scratchFile("b"))
        #expect(firehose.status != 0 && firehose.stderr.contains("--firehose must be between 0 and --clients (2)"), "\(firehose.stderr)")
        let daemon = try akis("bench", "--daemon", "127.0.0.1:1")
        #expect(daemon.status != 0 && daemon.stderr.contains("--daemon needs --feed"), "\(daemon.stderr)")
        let duration = try akis("bench", "--duration", "soon")
        #expect(duration.status != 0 && duration.stderr.contains("--duration must be like 30, 30s or 2m"), "\(duration.stderr)")
        let unreachable = try akis("bench", "--daemon", "127.0.0.1:1", "--feed", "tcp://127.0.0.1:1", "--clients", "1", "--firehose", "0", "--duration", "1")
        #expect(unreachable.status == 1 && unreachable.stderr.contains("127.0.0.1:1"), "\(unreachable.stderr)")
    }
}
