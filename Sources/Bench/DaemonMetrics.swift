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
        let socket = try Socket.connect(to: FeedAddress(transport: .tcp, host: host, port: port))
        let request = Array("GET /metrics HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        try request.withUnsafeBytes { try socket.send($0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Clock.monotonicNanos() + Int64(timeoutMillis) * 1_000_000
        let separator = Array("\r\n\r\n".utf8)
        var bodyStart: Int?
        var length: Int?
        // Until the body has its Content-Length, or the server closes.
        while bodyStart.map({ response.count - $0 < (length ?? Int.max) }) ?? true {
            let left = Int32(max(0, (deadline - Clock.monotonicNanos()) / 1_000_000))
            guard left > 0, try socket.waitReadable(timeoutMillis: left) else {
                throw BenchError("the daemon's /metrics at \(host):\(port) did not answer within \(timeoutMillis) ms")
            }
            let n = try chunk.withUnsafeMutableBytes { try socket.receive(into: $0) }
            if n == 0 { break }
            response.append(contentsOf: chunk[0..<n])
            if bodyStart == nil, let end = response.firstRange(of: separator) {
                bodyStart = end.upperBound
                let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased()
                length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let body = text.range(of: "\r\n\r\n") else {
            throw BenchError("the daemon's /metrics at \(host):\(port) sent no HTTP response")
        }
        guard text.split(separator: " ", maxSplits: 2).dropFirst().first == "200" else {
            throw BenchError("the daemon's /metrics at \(host):\(port) answered \(text.prefix { $0 != "\r" })")
        }
        return DaemonMetrics(text: String(text[body.upperBound...]))
    }
}
