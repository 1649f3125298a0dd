import Atomics
import Foundation
import Synchronization

/// Keeps the daemon's AlgoLab session alive: takes the session `akis algolab login` stored (also
/// a new one while the daemon runs), checks it at once with `SessionRefresh`, and refreshes it
/// every `refreshInterval`. What it holds is the `authorization` of the feed and the orders;
/// `problem` says why there is none, for `/readyz`.
public final class AlgoLabSessionKeeper: Sendable {
    public enum State: Sendable, Equatable {
        /// No session stored yet.
        case none
        /// Stored, not checked yet.
        case loaded(String)
        case live(String)
        /// AlgoLab refused it (or the file cannot be used): someone must log in again.
        case dead(String)
    }

    public let client: AlgoLabClient
    public let file: AlgoLabSessionFile
    public let refreshInterval: Duration
    public let refreshes = ManagedAtomic<UInt64>(0)
    public let refreshFailures = ManagedAtomic<UInt64>(0)
    private let log: @Sendable (String) -> Void
    private let current = Mutex(Current())

    private struct Current {
        var state = State.none
        var fileModified: Date?
        var lastRefresh: ContinuousClock.Instant?
        var retryAt: ContinuousClock.Instant?
    }

    public init(client: AlgoLabClient, file: AlgoLabSessionFile, refreshInterval: Duration, log: @escaping @Sendable (String) -> Void) {
        self.client = client
        self.file = file
        self.refreshInterval = refreshInterval
        self.log = log
    }

    public var state: State { current.withLock { $0.state } }

    /// The session hash while it is believed alive (loaded or refreshed).
    public var authorization: String? { state.hash }

    /// Why there is no live session, or nil when there is one.
    public var problem: String? {
        switch state {
        case .live: nil
        case .loaded: "the AlgoLab session is not checked yet"
        case .none: "no AlgoLab session: run `akis algolab login`"
        case .dead(let why): "the AlgoLab session is gone (\(why)): run `akis algolab login`"
        }
    }

    /// Called every second or so: picks up a newly stored session, refreshes when due.
    public func step() async {
        let modified = file.modified()
        let changed = current.withLock { c in
            guard c.fileModified != modified else { return false }
            c.fileModified = modified
            return true
        }
        if changed {
            let next: State
            do {
                next = try file.load().map { .loaded($0.hash) } ?? .none
            } catch {
                next = .dead("\(error)")
            }
            current.withLock { c in
                c.state = next
                c.lastRefresh = nil
                c.retryAt = nil
            }
            if case .loaded = next { log("algolab: session loaded from \(file.path); checking it") }
            if case .dead(let why) = next { log("algolab: \(why)") }
        }
        let now = ContinuousClock.now
        let due: String? = current.withLock { c in
            guard let hash = c.state.hash else { return nil }
            if let retryAt = c.retryAt { return now >= retryAt ? hash : nil }
            guard let last = c.lastRefresh else { return hash }
            return now - last >= refreshInterval ? hash : nil
        }
        guard let hash = due else { return }
        do {
            try await client.refreshSession(hash)
            refreshes.wrappingIncrement(ordering: .relaxed)
            let wasLive = current.withLock { c in
                defer { if c.state.hash == hash { c.state = .live(hash); c.lastRefresh = now; c.retryAt = nil } }
                if case .live = c.state { return true }
                return false
            }
            if !wasLive { log("algolab: session live") }
        } catch {
            refreshFailures.wrappingIncrement(ordering: .relaxed)
            if case .sessionExpired(let why) = error {
                current.withLock { c in if c.state.hash == hash { c.state = .dead(why) } }
                log("algolab: the session has expired (\(why)); run `akis algolab login`")
            } else {
                // Not a verdict on the session: try again soon, keep using it meanwhile.
                current.withLock { c in if c.state.hash == hash { c.retryAt = now + .seconds(10) } }
                log("algolab: session refresh failed (\(error)); retrying in 10 s")
            }
        }
    }

    /// Checks the session at the next step instead of at the next refresh (the WebSocket was
    /// refused: the session may have expired since).
    public func recheck() {
        current.withLock { c in
            c.lastRefresh = nil
            c.retryAt = nil
        }
    }

    /// Marks the session dead when another call was refused as expired.
    public func expired(_ hash: String, _ why: String) {
        current.withLock { c in if c.state.hash == hash { c.state = .dead(why) } }
    }
}

extension AlgoLabSessionKeeper.State {
    var hash: String? {
        switch self {
        case .loaded(let h), .live(let h): h
        case .none, .dead: nil
        }
    }
}
