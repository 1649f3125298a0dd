import Foundation
import HummingbirdBcrypt
import NIOPosix
import ServiceLifecycle

/// BCrypt hashing and checking on threads of its own, at niceness 19, so that the CPU a cost-12
/// hash takes (a quarter of a second) comes neither from the HTTP event loops nor, as far as the
/// scheduler allows, from the hot-path threads or PostgreSQL: a login storm waits its turn.
/// Not `SCHED_IDLE`: a thread of that class preempted while it holds a lock another thread needs
/// (the pool's queue, which the event loops take to hand it work; a malloc arena) keeps that lock
/// until a core is idle, and under load none is: measured, the fan-out stalled for 40 s
/// (docs/performance.md, "Auth").
public final class PasswordHasher: Service, Sendable, CustomStringConvertible {

    /// The niceness of the hashing threads (the hot path runs at 0).
    static let niceness: Int32 = 19

    public let cost: Int
    private let pool: NIOThreadPool
    /// A hash no password has, checked when a login names no user so that the answer takes as
    /// long as a wrong password's (no user enumeration by timing). Checking costs what its cost
    /// field says, whatever its salt and digest, so random ones do: no hash is computed at start.
    private let dummy: String

    public init(cost: Int, threads: Int) {
        self.cost = cost
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        dummy = "$2b$" + (cost < 10 ? "0" : "") + "\(cost)$" + String((0..<53).map { _ in alphabet.randomElement()! })
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
            // PRIO_PROCESS with 0 is the calling thread alone on Linux (setpriority(2), NOTES).
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
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
