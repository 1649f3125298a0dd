import Foundation
import HummingbirdBcrypt
import Ingest
import NIOPosix
import ServiceLifecycle
import Synchronization

/// BCrypt hashing and checking on threads of its own, at niceness 19, so that the CPU a cost-12
/// hash takes (a quarter of a second) comes neither from the HTTP event loops nor, as far as the
/// scheduler allows, from the hot-path threads or PostgreSQL: a login storm waits its turn.
/// Not `SCHED_IDLE`: a thread of that class preempted while it holds a lock another thread needs
/// (the pool's queue, which the event loops take to hand it work; a malloc arena) keeps that lock
/// until a core is idle, and under load none is: measured, the fan-out stalled for 40 s
/// (docs/performance.md, "Auth").
///
/// Priority alone does not keep hashing from the ticks (measured: a hashing thread at niceness 19
/// raised the tick-to-client p99 by 9 ms, one busy a quarter of the time by 4 ms), so two limits:
/// - `cpuShare`: after a hash that took t of CPU time, the next waits t × (1 − share) / share,
///   so hashing takes at most about that share of each thread's core;
/// - `maximumWaitNanos`: a request that would wait longer than this behind the ones queued is
///   refused at once (`AuthFailure` 503 `busy`, with a `Retry-After`) instead of holding its
///   connection for minutes.
public final class PasswordHasher: Service, Sendable, CustomStringConvertible {

    /// The niceness of the hashing threads (the hot path runs at 0).
    static let niceness: Int32 = 19

    public let cost: Int
    public let threads: Int
    /// The most of each hashing thread's core that hashing takes, 0 < share ≤ 1.
    public let cpuShare: Double
    /// The longest a request may expect to wait for its turn; longer ones are refused.
    public let maximumWaitNanos: Int64
    private let pool: NIOThreadPool
    /// A hash no password has, checked when a login names no user so that the answer takes as
    /// long as a wrong password's (no user enumeration by timing). Checking costs what its cost
    /// field says, whatever its salt and digest, so random ones do: no hash is computed at start.
    private let dummy: String
    /// Hashes waiting or running.
    private let pending = Atomic<Int>(0)
    /// How long a thread is taken per hash (the hash and its rest): a moving average of the last ones.
    private let turnNanos: Atomic<Int64>
    /// When the hashing threads may start the next hash (monotonic nanoseconds).
    private let restUntil = Atomic<Int64>(0)

    public init(cost: Int, threads: Int, cpuShare: Double = 1, maximumWaitNanos: Int64 = .max) {
        precondition(cpuShare > 0 && cpuShare <= 1, "cpuShare is in (0, 1]")
        self.cost = cost
        self.threads = threads
        self.cpuShare = cpuShare
        self.maximumWaitNanos = maximumWaitNanos
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        dummy = "$2b$" + (cost < 10 ? "0" : "") + "\(cost)$" + String((0..<53).map { _ in alphabet.randomElement()! })
        // Until a hash is timed: 2^cost rounds of about 64 µs each (this machine's figure).
        turnNanos = Atomic(Int64(Double(1 << min(cost, 31)) * 64_000 / cpuShare))
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
        let ahead = pending.add(1, ordering: .relaxed).newValue - 1
        let wait = Int64(ahead / threads) * turnNanos.load(ordering: .relaxed)
        if wait > maximumWaitNanos {
            pending.subtract(1, ordering: .relaxed)
            throw Self.busy(waitNanos: wait)
        }
        defer { pending.subtract(1, ordering: .relaxed) }
        return try await pool.runIfActive { [self] in
            // PRIO_PROCESS with 0 is the calling thread alone on Linux (setpriority(2), NOTES).
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
            // The rest after the last hash is taken before the next one, not after it: a reply
            // never waits for its own hash's rest.
            let resting = restUntil.load(ordering: .relaxed)
            if resting > Clock.monotonicNanos() { Clock.sleep(untilMonotonic: resting) }
            let started = Self.threadCPUNanos(), startedAt = Clock.monotonicNanos()
            let result = work()
            let took = Self.threadCPUNanos() - started, now = Clock.monotonicNanos()
            let rest = Self.rest(afterHashTaking: took, share: cpuShare)
            // The turn as the queue sees it: the hash's wall time (longer than its CPU time on
            // a busy machine, where this thread yields to everything else) and the rest.
            let turn = now - startedAt + rest
            turnNanos.store((3 * turnNanos.load(ordering: .relaxed) + turn) / 4, ordering: .relaxed)
            restUntil.store(now + rest, ordering: .relaxed)
            return result
        }
    }

    /// How long a thread rests after a hash that took `took` of CPU time so that hashing takes
    /// `share` of its core.
    static func rest(afterHashTaking took: Int64, share: Double) -> Int64 {
        share < 1 ? Int64((Double(took) * (1 - share) / share).rounded()) : 0
    }

    /// The refusal of a request that would wait `waitNanos` for its turn.
    static func busy(waitNanos: Int64) -> AuthFailure {
        let seconds = Int((waitNanos + 999_999_999) / 1_000_000_000)
        var failure = AuthFailure(503, "busy", "too many passwords to check at once; try again in \(seconds) s")
        failure.retryAfter = seconds
        failure.fields["retryAfter"] = "\(seconds)"
        return failure
    }

    private static func threadCPUNanos() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
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
