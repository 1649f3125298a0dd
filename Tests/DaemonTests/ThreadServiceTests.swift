import Atomics
import Daemon
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// The hot path's threads as services of one group: they stop in the order the drain needs, each
/// stage after the one feeding it, although a stage ends by itself before the group asks it to.
@Suite(.timeLimit(.minutes(3))) struct ThreadServiceTests {
    static let logger = Logger(label: "test")

    /// A chain source → middle → sink, listed as the daemon lists them (consumers first, so that
    /// they stop last), with a summary before them all.
    final class Chain: Sendable {
        let stopSource = ManagedAtomic<Bool>(false)
        let sourceDone = ManagedAtomic<Bool>(false)
        let middleDone = ManagedAtomic<Bool>(false)
        let order = Mutex<[String]>([])

        func record(_ what: String) { order.withLock { $0.append(what) } }

        var services: [any Service] {
            [
                PeriodicService(name: "summary", every: .milliseconds(20), last: { self.record("summary") }) {},
                ThreadService(name: "sink") {
                    while !self.middleDone.load(ordering: .acquiring) { sleepBlocking(.microseconds(1_000)) }
                    self.record("sink")
                },
                ThreadService(name: "middle") {
                    while !self.sourceDone.load(ordering: .acquiring) { sleepBlocking(.microseconds(1_000)) }
                    sleepBlocking(.microseconds(20_000))
                    self.record("middle")
                    self.middleDone.store(true, ordering: .releasing)
                },
                ThreadService(name: "source", stop: { self.stopSource.store(true, ordering: .releasing) }) {
                    while !self.stopSource.load(ordering: .acquiring) { sleepBlocking(.microseconds(1_000)) }
                    self.record("source")
                    self.sourceDone.store(true, ordering: .releasing)
                },
            ]
        }
    }

    @Test func threadsStopInDrainOrderAndTheGroupEndsCleanly() async throws {
        let chain = Chain()
        let group = ServiceGroup(configuration: .init(services: chain.services.map {
            .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
        }, logger: Self.logger))
        let run = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(chain.order.withLock { $0 }.isEmpty, "nothing stops before it is asked")
        await group.triggerGracefulShutdown()
        try await value(of: run, within: .seconds(60), "the group to stop")
        #expect(chain.order.withLock { $0 } == ["source", "middle", "sink", "summary"])
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "the feed went away" }
    }

    /// A thread that fails shuts the whole group down in order, and its error comes out of it.
    @Test func aFailingThreadStopsTheGroupAndItsErrorComesOut() async throws {
        let chain = Chain()
        let failing = ThreadService(name: "failing") {
            sleepBlocking(.microseconds(50_000))
            throw Broken()
        }
        let group = ServiceGroup(configuration: .init(services: (chain.services + [failing]).map {
            .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
        }, logger: Self.logger))
        let run = Task { try await group.run() }
        await #expect {
            try await value(of: run, within: .seconds(60), "the group to stop")
        } throws: { error in
            (error as? ThreadFailure)?.thread == "failing" && "\(error)" == "the feed went away"
        }
        #expect(chain.order.withLock { $0 } == ["source", "middle", "sink", "summary"])
    }
}
