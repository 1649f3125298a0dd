import ArgumentParser
import Atomics
import Foundation
import Ingest
import Logging
import RingBuffer
import Store

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the ingestion daemon.",
        discussion: """
            Listens for feed connections, decodes and validates every frame, and hands ticks to the \
            pipeline through a lock-free ring. Logs a summary line every --stats-interval seconds and stops \
            cleanly on SIGINT/SIGTERM after draining the ring.
            """)

    @Option(help: "Feed address to listen on (port 0 picks a free port).") var listen = "tcp://127.0.0.1:0"
    @Option(help: "Feed wire format: binary or json.") var format: FeedFormatOption = .binary
    @Option(help: "PostgreSQL connection string; checked at start.") var database: String?
    @Option(help: "Comma-separated symbol universe (default: BIST-30).") var symbols: String?
    @Option(help: "Seconds between summary lines.") var statsInterval: Double = 5
    @Option(help: "Write the bound feed address to this file once listening.") var readyFile: String?

    func run() throws {
        var logger = Logger(label: "akis")
        logger.logLevel = .info
        guard statsInterval > 0 else { throw ValidationError("--stats-interval must be positive") }
        let address: FeedAddress
        do { address = try FeedAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
        let names = symbols.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? BISTMarket.bist30
        let table: SymbolTable
        do { table = try SymbolTable(names) } catch { throw ValidationError("--symbols: \(error)") }

        if let database {
            let db = try PostgresConnection(conninfo: database)
            let timescale = try db.isExtensionAvailable("timescaledb")
            logger.info("database: PostgreSQL \(db.serverVersion / 10000).\(db.serverVersion % 10000), TimescaleDB \(timescale ? "available" : "not installed (plain PostgreSQL path)")")
        }
        let uring = IOUringSupport.probe()
        logger.info("io_uring: \(uring.bestReceivePath.rawValue) available (setup errno \(uring.setupErrno), buffer ring errno \(uring.bufferRingErrno), multishot errno \(uring.multishotErrno)); this build's reader uses poll(2)")

        StopSignal.install { signal in
            printError("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): draining and stopping")
        }
        let ring = SPSCRing<Tick>(minimumCapacity: 1 << 16)
        let context = DecodeContext(symbols: table, maximumFrameBytes: 4096, feed: 1)
        let reader: any FeedReaderThread = switch format {
        case .binary: try PollingFeedServer<BinaryFrameCodec>(listen: address, context: context, ring: ring) { logger.info("\($0)") }
        case .json: try PollingFeedServer<JSONLineCodec>(listen: address, context: context, ring: ring) { logger.info("\($0)") }
        }
        let bound = reader.listener.boundAddress
        logger.info("listening for \(format.rawValue) feed on \(bound) (\(table.count) symbols)")
        if let readyFile { try "\(bound)\n".write(toFile: readyFile, atomically: true, encoding: .utf8) }

        let readerDone = ManagedAtomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        let thread = Thread {
            do { try reader.run(stop: StopSignal.requested) } catch { failure.withLock { $0 = "\(error)" } }
            readerDone.store(true, ordering: .releasing)
        }
        thread.name = "akis-feed-reader"
        thread.start()

        // The pipeline thread: the owner of all per-symbol state. Here it counts what it drains.
        var pipeline = PipelineTally(symbols: table.count)
        var nextSummary = Clock.monotonicNanos() + Int64(statsInterval * 1e9)
        while true {
            let finished = readerDone.load(ordering: .acquiring)
            let n = ring.drain { pipeline.add($0) }
            if n == 0 {
                if finished { break }
                usleep(200)
            }
            let now = Clock.monotonicNanos()
            if now >= nextSummary {
                nextSummary = now + Int64(statsInterval * 1e9)
                logger.info("\(summary(reader.counters, pipeline))")
            }
        }
        logger.info("stopped: \(summary(reader.counters, pipeline))")
        if let message = failure.withLock({ $0 }) { throw CLIError("feed reader failed: \(message)") }
    }

    private func summary(_ c: FeedCounters, _ p: PipelineTally) -> String {
        let rejected = c.rejectedByKind().map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        return "received \(grouped(c.bytes.load(ordering: .relaxed))) bytes, decoded \(grouped(c.ticks.load(ordering: .relaxed))) ticks, "
            + "rejected \(grouped(c.rejected.load(ordering: .relaxed)))\(rejected.isEmpty ? "" : " (\(rejected))"), "
            + "pipeline \(grouped(p.ticks)) ticks (\(grouped(p.trades)) trades) in \(p.activeSymbols) symbols, "
            + "ring-full waits \(grouped(c.ringFullWaits.load(ordering: .relaxed)))"
    }
}

/// What the pipeline stand-in keeps per symbol until the aggregator arrives.
struct PipelineTally {
    var ticks: UInt64 = 0
    var trades: UInt64 = 0
    var perSymbol: [UInt64]
    init(symbols: Int) { perSymbol = [UInt64](repeating: 0, count: symbols) }
    var activeSymbols: Int { perSymbol.lazy.filter { $0 > 0 }.count }

    mutating func add(_ span: UnsafeBufferPointer<Tick>) {
        for tick in span {
            ticks += 1
            if tick.kind == .trade { trades += 1 }
            perSymbol[Int(tick.symbol.rawValue)] += 1
        }
    }
}

/// The type-erased face of a `PollingFeedServer`, whatever its codec.
protocol FeedReaderThread: AnyObject, Sendable {
    var listener: Socket { get }
    var counters: FeedCounters { get }
    func run(stop: ManagedAtomic<Bool>) throws
}

extension PollingFeedServer: FeedReaderThread {}

import Synchronization
