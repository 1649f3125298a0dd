import Foundation
import Ingest

/// A plain HTTP/1.1 GET over a real socket: (status, body). It has a deadline: after 60 s (a
/// test suite on two cores can starve a server that long) what came so far is the answer, and an
/// incomplete one fails. (A helper, not a suite: the suites that call it carry `.timeLimit` too.)
public func httpGet(_ hostPort: String, _ path: String) throws -> (status: Int, body: String) {
    let r = try httpRequest(hostPort, "GET", path)
    return (r.status, r.body)
}

/// One HTTP/1.1 request over a real socket, with the same deadline as `httpGet`: status, headers
/// (names lowercased) and body. `body` is sent as is (any bytes, invalid UTF-8 too).
public func httpRequest(_ hostPort: String, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [])
    throws -> (status: Int, headers: [String: String], body: String) {
    try CooperativePool.refuseBlocking("an HTTP request over a blocking socket")
    let deadline = Clock.monotonicNanos() + 60_000_000_000
    let socket = try Socket.connect(to: FeedAddress(parsing: "tcp://\(hostPort)"))
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nConnection: close\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
    let request = Array((head + "\r\n").utf8) + body
    // A server may answer (413) and close before it read a large body: what it said still counts.
    try? request.withUnsafeBytes { try socket.send($0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while case let left = (deadline - Clock.monotonicNanos()) / 1_000_000, left > 0, (try? socket.waitReadable(timeoutMillis: Int32(left))) == true {
        guard let n = try? buffer.withUnsafeMutableBytes({ try socket.receive(into: $0) }), n > 0 else { break }
        response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let headerEnd = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
        throw HTTPFailure(text: String(text.prefix(200)))
    }
    var fields: [String: String] = [:]
    for line in text[..<headerEnd.lowerBound].split(separator: "\r\n").dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var content = String(text[headerEnd.upperBound...])
    if fields["transfer-encoding"]?.lowercased() == "chunked" { content = dechunked(content) }
    return (status, fields, content)
}

/// `httpRequest` for async tests, off the cooperative pool (as `httpGet`).
public func httpRequest(_ hostPort: String, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws
    -> (status: Int, headers: [String: String], body: String) {
    try await offThePool { try httpRequest(hostPort, method, path, headers: headers, body: body) }
}

/// The payload of a chunked HTTP body.
public func dechunked(_ body: String) -> String {
    var out = ""
    var rest = Substring(body)
    while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
        let start = lineEnd.upperBound
        let end = rest.utf8.index(start, offsetBy: size)
        out += rest[start..<end]
        rest = rest[end...].dropFirst(2)
    }
    return out
}

public struct HTTPFailure: Error, CustomStringConvertible {
    public let text: String
    public var description: String { "bad HTTP response: \(text)" }
}

/// `httpGet` for async tests: the blocking socket I/O runs off the cooperative pool, which the
/// server under test may need to answer (two blocked pool threads on a two-core machine would
/// leave it none).
public func httpGet(_ hostPort: String, _ path: String) async throws -> (status: Int, body: String) {
    try await offThePool { try httpGet(hostPort, path) }
}
