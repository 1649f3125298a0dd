import Atomics
import Foundation

/// SIGINT and SIGTERM turned into a flag that worker threads poll.
///
/// The signals are blocked in every thread (call `install()` before starting any) and taken by
/// one dedicated thread with sigwait(2), so no code runs in signal-handler context.
enum StopSignal {
    static let requested = ManagedAtomic<Bool>(false)

    static func install(onStop: @escaping @Sendable (Int32) -> Void = { _ in }) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let waiter = Thread {
            var signal: Int32 = 0
            var set = blocked
            while sigwait(&set, &signal) == 0 {
                requested.store(true, ordering: .releasing)
                onStop(signal)
            }
        }
        waiter.name = "akis-signals"
        waiter.start()
    }
}
