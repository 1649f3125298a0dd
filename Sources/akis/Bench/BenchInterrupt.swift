import Atomics
import Foundation

/// Ctrl-C (SIGINT) or SIGTERM during `akis bench`: the run stops sending, reports what it sent,
/// and stops what it started (the daemon, PostgreSQL, redis-server).
///
/// A plain signal handler that sets a flag, not `StopSignal`'s blocked mask: a blocked mask would
/// be inherited by the servers the bench starts, and they need their signals. (Handlers are reset
/// to the default in a program started by exec.)
enum BenchInterrupt {
    static let requested = ManagedAtomic<Bool>(false)

    static func install() {
        _ = requested.load(ordering: .relaxed)  // initialised before any handler can run
        // A parent may have started us with these blocked (the mask is inherited); threads made
        // from here on inherit this thread's mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                // A second Ctrl-C ends the bench at once.
                if BenchInterrupt.requested.exchange(true, ordering: .relaxed) { _exit(130) }
            }
        }
    }

    static var isRequested: Bool { requested.load(ordering: .relaxed) }
}
