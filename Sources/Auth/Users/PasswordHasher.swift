import Foundation
import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle

/// BCrypt hashing and checking on threads of its own, so that the CPU a cost-12 hash takes (a
/// quarter of a second) comes neither from the HTTP event loops nor from the hot-path threads or
/// PostgreSQL: a login storm waits its turn; ticks do not. The hash itself runs under `SCHED_IDLE`
/// (only on CPU time nothing else wants, preempted at once when another thread wakes); the rest of
/// the thread's work (taking the next job from the pool's queue, whose lock the event loops share)
/// runs at niceness 19 under the normal policy, so that the thread is never starved while it holds
/// a lock someone else waits for. Measured (docs/performance.md): at niceness 10 a storm raised the
/// tick-to-client p99 at 50,000 ticks/s from 14 to 32 ms; with the whole thread under SCHED_IDLE the
/// event loops stalled behind the pool's lock for seconds.
public final class PasswordHasher: Service, Sendable, CustomStringConvertible {

    /// The niceness of the hashing threads outside the hash (the hot path runs at 0).
    static let niceness: Int32 = 19
    /// `SCHED_IDLE` and `SCHED_OTHER` (sched.h; Glibc shows SCHED_IDLE to C only under _GNU_SOURCE).
    static let schedIdle: Int32 = 5, schedOther: Int32 = 0

    public let cost: Int
    private let pool: NIOThreadPool
    /// A hash of a password no one has, checked when a login names no user so that the answer
    /// takes as long as a wrong password's (no user enumeration by timing).
    private let dummy: String

    public init(cost: Int, threads: Int) {
        self.cost = cost
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        dummy = Bcrypt.hash(UUID().uuidString, cost: UInt8(cost))
    }

    public func hash(_ password: String) async throws -> String {
        try await run { [cost] in Bcrypt.hash(password, cost: UInt8(cost)) }
    }

    /// Whether `password` matches `hash`; with no hash (no such user), checks against the dummy
    /// and answers false, in the same time.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        try await run { [dummy] in
            let matches = Bcrypt.verify(password, hash: hash ?? dummy)
            return hash != nil && matches
        }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await pool.runIfActive {
            // Pid 0 is the calling thread alone on Linux (sched(7), setpriority(2) NOTES).
            var none = sched_param()
            sched_setscheduler(0, Self.schedIdle, &none)
            defer {
                sched_setscheduler(0, Self.schedOther, &none)
                setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
            }
            return work()
        }
    }

    public var description: String { "password hashing" }

    /// Keeps the threads until the daemon stops, then stops them (after the work queued on them).
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Stops the threads (after the work queued on them).
    public func shutdown() async throws { try await pool.shutdownGracefully() }
}
