import Ingest
import Logging

/// How a reader of the event store runs (each consumer, the Kafka relay): catch up, then wait
/// for the next wake-up (a NOTIFY, or the poll); on an error, say so once, back off with jitter
/// and try again, and say when it works again. Returns when cancelled or when `wakeups` ends.
enum WakeLoop {
    static func run(wakeups: AsyncStream<Void>, logger: Logger, initialBackoffNanos: Int64,
                    failing: (any Error) -> String, recovered: String, _ catchUp: () async throws -> Void) async {
        var wakeups = wakeups.makeAsyncIterator()
        var failures = ReconnectBackoff(initialNanos: initialBackoffNanos, maximumNanos: 10_000_000_000)
        var reported = false
        while !Task.isCancelled {
            do {
                try await catchUp()
                failures.reset()
                if reported { logger.info("\(recovered)") }
                reported = false
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                if !reported { logger.info("\(failing(error))") }
                reported = true
                try? await Task.sleep(for: .nanoseconds(failures.nextDelay(unit: Double.random(in: 0..<1))))
                continue
            }
            if await wakeups.next() == nil { return }
        }
    }
}
