import Atomics
import Dispatch
import Foundation

/// SIGINT and SIGTERM turned into a flag that worker threads poll, for the commands that are not
/// the daemon (`record`, `subscribe`; `serve` stops through its service group).
///
/// The signals' default action is turned off and a dispatch source takes them, so no code runs
/// in signal-handler context, whichever thread installs it.
enum StopSignal {
    static let requested = ManagedAtomic<Bool>(false)
    private nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []

    static func install(onStop: @escaping @Sendable (Int32) -> Void = { _ in }) {
        let queue = DispatchQueue(label: "akis-signals")
        for signo in [SIGINT, SIGTERM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
            source.setEventHandler {
                requested.store(true, ordering: .releasing)
                onStop(signo)
            }
            source.resume()
            sources.append(source)
        }
    }
}
