import Foundation
import Ingest

/// One scrape of a daemon's Prometheus `/metrics`: each sample's value by its full name with
/// labels (`akis_lane_dropped_total{lane="store"}`), and sums by bare name.
public struct DaemonMetrics: Sendable {
    public private(set) var samples: [String: Double] = [:]
    public private(set) var sums: [String: Double] = [:]

    public init(text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let key = String(line[..<space])
            samples[key] = value
            let name = key.split(separator: "{", maxSplits: 1).first.map(String.init) ?? key
            sums[name, default: 0] += value
        }
    }

    /// The sum of every sample of `name` (0 when absent).
    public subscript(name: String) -> Double { sums[name] ?? 0 }

    /// Fetches `http://host:port/metrics`.
    public static func fetch(host: String, port: UInt16, timeoutMillis: Int32 = 5_000) throws -> DaemonMetrics {
        let request = Array("GET /metrics HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        let (statusLine, body): (String, String)
        do {
            (statusLine, _, body) = try HTTPExchange.send(request, host: host, port: port, timeoutMillis: timeoutMillis)
        } catch HTTPExchange.Failure.timedOut {
            throw BenchError("the daemon's /metrics at \(host):\(port) did not answer within \(timeoutMillis) ms")
        } catch HTTPExchange.Failure.noResponse {
            throw BenchError("the daemon's /metrics at \(host):\(port) sent no HTTP response")
        }
        guard HTTPExchange.status(statusLine) == 200 else {
            throw BenchError("the daemon's /metrics at \(host):\(port) answered \(statusLine)")
        }
        return DaemonMetrics(text: body)
    }
}
