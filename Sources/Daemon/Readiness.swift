import Synchronization

/// What `/readyz` reports: named checks, each saying what is missing (nil when ready). The daemon
/// is ready when every check is; otherwise the answer lists what is not, one line each.
public final class Readiness: Sendable {
    private let checks = Mutex<[(name: String, missing: @Sendable () -> String?)]>([])

    public init() {}

    /// Adds a check; `missing` says what is not ready yet, or returns nil.
    public func add(_ name: String, missing: @escaping @Sendable () -> String?) {
        checks.withLock { $0.append((name, missing)) }
    }

    /// Whether everything is ready, and the lines saying what is not.
    public func report() -> (ready: Bool, missing: [String]) {
        let missing = checks.withLock { $0 }.compactMap { check in check.missing().map { "\(check.name): \($0)" } }
        return (missing.isEmpty, missing)
    }
}

/// Counters that advance while a hot-path thread turns. The systemd watchdog is fed only while
/// every one of them keeps advancing.
public final class Heartbeats: Sendable {
    private let beats = Mutex<[(name: String, read: @Sendable () -> UInt64)]>([])

    public init() {}

    public func add(_ name: String, read: @escaping @Sendable () -> UInt64) {
        beats.withLock { $0.append((name, read)) }
    }

    /// Each heartbeat's current value, in the order added.
    public func read() -> [(name: String, value: UInt64)] {
        beats.withLock { $0 }.map { ($0.name, $0.read()) }
    }
}
