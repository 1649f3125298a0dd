import Atomics
import Ingest
import TestSupport
import Testing

/// The executor blocking work runs on, and the check that keeps blocking calls off the pool.
@Suite(.timeLimit(.minutes(1))) struct BlockingExecutorTests {
    @Test func workUnderTheExecutorIsOffThePoolAndPlainTasksAreOn() async {
        #expect(CooperativePool.isCurrent, "an async test runs on the cooperative pool")
        let under = await withTaskExecutorPreference(BlockingExecutor.shared) {
            (CooperativePool.isCurrent, BlockingExecutor.isCurrentThreadBlockingWorker)
        }
        #expect(under == (false, true))
        let child = await withTaskExecutorPreference(BlockingExecutor.shared) {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask { CooperativePool.isCurrent }
                return await group.next()!
            }
        }
        #expect(child == false, "child tasks follow the preference")
    }

    /// Eight jobs that block until all eight run at once: the executor makes a thread for each
    /// rather than queueing one behind a blocked one (the pool's two threads would deadlock).
    @Test func blockedJobsNeverWaitBehindEachOther() async {
        let running = ManagedAtomic<Int>(0)
        let together = await withTaskExecutorPreference(BlockingExecutor.shared) {
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        running.wrappingIncrement(ordering: .relaxed)
                        let deadline = Clock.monotonicNanos() + 20_000_000_000
                        while running.load(ordering: .relaxed) < 8 && Clock.monotonicNanos() < deadline { sleepBlocking(.milliseconds(1)) }
                        return running.load(ordering: .relaxed) == 8
                    }
                }
                return await group.reduce(true) { $0 && $1 }
            }
        }
        #expect(together, "all eight blocked jobs ran at the same time")
    }

    @Test func aBlockingCallOnThePoolIsRefusedByName() async throws {
        #if DEBUG
        let error = #expect(throws: BlockingOnCooperativePool.self) { try CooperativePool.refuseBlocking("a test's blocking call") }
        #expect(error?.description.hasPrefix("a test's blocking call would block a thread of Swift's cooperative pool") == true)
        #endif
        try await withTaskExecutorPreference(BlockingExecutor.shared) { try CooperativePool.refuseBlocking("the same call off the pool") }
    }
}
