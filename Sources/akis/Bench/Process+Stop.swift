import Foundation
import Ingest

extension Process {
    /// SIGTERM, then up to `seconds` for the program to finish what it does on it (the daemon drains
    /// and stores everything), then SIGKILL.
    func stop(within seconds: Int64) {
        guard isRunning else { return }
        terminate()
        let deadline = Clock.monotonicNanos() + seconds * 1_000_000_000
        while isRunning && Clock.monotonicNanos() < deadline { usleep(20_000) }
        if isRunning { kill(processIdentifier, SIGKILL) }
    }
}
