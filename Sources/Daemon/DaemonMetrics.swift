import Prometheus
import Synchronization

/// The daemon's Prometheus registry, shared by every module. The hot-path threads count in their
/// own atomics (no metrics call on the hot path); a module registers where each value is read
/// from, and a scrape copies the values into the registry and renders it.
public final class DaemonMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// Each exported counter, where its value comes from, and what was exported last.
    private let counters = Mutex<[(counter: Counter, read: @Sendable () -> UInt64, exported: UInt64)]>([])
    /// Gauges set from their source at each scrape.
    private let gauges = Mutex<[(gauge: Gauge, read: @Sendable () -> Double)]>([])

    public init() {}

    /// A counter `akis_<name>_total` whose value `read` returns (it only grows).
    public func counter(_ name: String, _ help: String, labels: [(String, String)] = [], read: @escaping @Sendable () -> UInt64) {
        let descriptor = MetricNameDescriptor(namespace: "akis", metricName: name, unitName: "total", helpText: help)
        let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
        counters.withLock { $0.append((counter, read, 0)) }
    }

    /// A gauge `akis_<name>[_<unit>]` set to what `read` returns at each scrape.
    public func gauge(_ name: String, unit: String = "", _ help: String, labels: [(String, String)] = [],
                      read: @escaping @Sendable () -> Double) {
        let descriptor = MetricNameDescriptor(namespace: "akis", metricName: name, unitName: unit, helpText: help)
        let gauge = registry.makeGauge(descriptor: descriptor, labels: labels)
        gauges.withLock { $0.append((gauge, read)) }
    }

    /// A gauge with a fixed value: a fact about the configuration, told through its labels.
    public func constant(_ name: String, unit: String = "", _ help: String, labels: [(String, String)], value: Double) {
        let descriptor = MetricNameDescriptor(namespace: "akis", metricName: name, unitName: unit, helpText: help)
        registry.makeGauge(descriptor: descriptor, labels: labels).set(to: value)
    }

    /// The Prometheus text exposition of every metric, current as of this call.
    public func render() -> [UInt8] {
        counters.withLock { list in
            for i in list.indices {
                let now = list[i].read()
                if now > list[i].exported {
                    list[i].counter.increment(by: Int64(now - list[i].exported))
                    list[i].exported = now
                }
            }
        }
        for (gauge, read) in gauges.withLock({ $0 }) { gauge.set(to: read()) }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
