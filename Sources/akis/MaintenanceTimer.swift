import Dispatch
import Store

/// Runs `StorageMaintenance` every `interval` on a queue of its own, with a connection of its own,
/// so that dropping a partition never waits in the ingest path. Failures are logged and retried at
/// the next tick.
final class MaintenanceTimer {
    private let timer: DispatchSourceTimer

    init(conninfo: String, layout: StorageLayout, maintenance: StorageMaintenance, interval: DispatchTimeInterval = .seconds(3600),
         log: @escaping @Sendable (String) -> Void) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "akis.maintenance"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            do {
                let report = try maintenance.run(on: PostgresConnection(conninfo: conninfo), layout: layout)
                if report.changedSomething { log("database: \(report)") }
            } catch {
                log("database: maintenance failed (retried in an hour): \(error)")
            }
        }
        timer.resume()
    }

    func stop() { timer.cancel() }
}
