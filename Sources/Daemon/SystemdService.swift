import Ingest
import Logging
import ServiceLifecycle

/// Talks to systemd for the whole daemon (`Type=notify`): "READY=1" once the HTTP server
/// listens (`ready()`), "WATCHDOG=1" every half `WatchdogSec` while every hot-path thread's
/// heartbeat advances, and "STOPPING=1" as soon as the group begins to stop (it is the service
/// stopped first).
struct SystemdService: Service, CustomStringConvertible {
    let notifier: SystemdNotifier
    let heartbeats: Heartbeats
    let logger: Logger

    var description: String { "systemd" }

    func ready(status: String) { notifier.send("READY=1\nSTATUS=\(status)") }

    func run() async throws {
        if let interval = notifier.watchdogNanos {
            var last = heartbeats.read().map { $0.value &- 1 }
            while !Task.isShuttingDownGracefully {
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(interval / 2)) } } catch { break }
                let now = heartbeats.read()
                let stalled = zip(now, last).filter { $0.0.value == $0.1 }.map(\.0.name)
                if stalled.isEmpty {
                    notifier.send("WATCHDOG=1")
                } else {
                    logger.info("watchdog: \(stalled.joined(separator: ", ")) has not advanced in \(interval / 2_000_000) ms; not notifying systemd")
                }
                last = now.map(\.value)
            }
        } else {
            try? await gracefulShutdown()
        }
        notifier.send("STOPPING=1")
    }
}
