import Foundation
import Ingest

/// One HTTP/1.1 exchange over a connection of its own (the request says `Connection: close`),
/// blocking, with a deadline: what the bench needs of a daemon's HTTP side (`/metrics`, logins).
public enum HTTPExchange {
    public enum Failure: Error {
        /// No complete answer within the deadline.
        case timedOut
        /// The server closed without an HTTP response.
        case noResponse
    }

    /// Sends `request` to `host:port`; the response's status line, headers (names lowercased) and
    /// body, read until the body has its Content-Length or the server closes.
    public static func send(_ request: [UInt8], host: String, port: UInt16, timeoutMillis: Int32) throws
        -> (statusLine: String, headers: [String: String], body: String) {
        let socket = try Socket.connect(to: FeedAddress(transport: .tcp, host: host, port: port))
        try request.withUnsafeBytes { try socket.send($0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Clock.monotonicNanos() + Int64(timeoutMillis) * 1_000_000
        let separator = Array("\r\n\r\n".utf8)
        var bodyStart: Int?
        var headers: [String: String] = [:]
        var length: Int?
        // Until the body has its Content-Length, or the server closes.
        while bodyStart.map({ response.count - $0 < (length ?? Int.max) }) ?? true {
            let left = Int32(max(0, (deadline - Clock.monotonicNanos()) / 1_000_000))
            guard left > 0, try socket.waitReadable(timeoutMillis: left) else { throw Failure.timedOut }
            let n = try chunk.withUnsafeMutableBytes { try socket.receive(into: $0) }
            if n == 0 { break }
            response.append(contentsOf: chunk[0..<n])
            if bodyStart == nil, let end = response.firstRange(of: separator) {
                bodyStart = end.upperBound
                for line in String(decoding: response[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                length = headers["content-length"].flatMap { Int($0) }
            }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let body = text.range(of: "\r\n\r\n") else { throw Failure.noResponse }
        return (String(text.prefix { $0 != "\r" }), headers, String(text[body.upperBound...]))
    }

    /// The status code of a status line ("HTTP/1.1 200 OK" → 200).
    public static func status(_ statusLine: String) -> Int? {
        statusLine.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }
}
