import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// AlgoLab's REST API: signs each request (APIKEY, Checker, Authorization), keeps to its rate
/// limit with a queue, and turns replies into content or a typed `AlgoLabError`. One per process;
/// `shutdown()` when done with it.
public final class AlgoLabClient: Sendable {
    public let apiKey: AlgoLabAPIKey
    public let restURL: String
    /// The TLS settings of every connection to AlgoLab (the system's roots, and `ca_file`'s); the
    /// WebSocket feed uses them too.
    public let tls: TLSConfiguration
    private let http: HTTPClient
    /// None when `minimumInterval` is zero: requests go at once, side by side.
    private let pacer: RequestPacer?
    private let timeout: TimeAmount
    /// Replies beyond this are refused (AlgoLab's are a few KiB; a day's transactions more).
    static let maximumReplyBytes = 16 << 20

    public init(apiKey: AlgoLabAPIKey, restURL: String, caFile: String? = nil, minimumInterval: Duration = .seconds(1),
                timeout: Duration = .seconds(30)) throws(AlgoLabError) {
        self.apiKey = apiKey
        self.restURL = restURL
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            } catch {
                throw .configuration("ca_file \(caFile): \(error)")
            }
        }
        self.tls = tls
        self.timeout = TimeAmount(timeout)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, timeout: .init(connect: .seconds(10), read: self.timeout))
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        pacer = minimumInterval > .zero ? RequestPacer(interval: minimumInterval) : nil
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A client dropped without `shutdown()` (a daemon that failed to start after building it)
    /// is shut down here; the HTTP client lives until that is done.
    deinit {
        let http = http
        http.shutdown { _ in withExtendedLifetime(http) {} }
    }

    /// Sends `request` (with the session's `authorization` unless it is a login call) in its
    /// turn, and decodes the reply's content.
    public func call<Content: Decodable>(_ request: AlgoLabRequest, authorization: String?, expecting: Content.Type) async throws(AlgoLabError) -> Content {
        let (status, body) = try await send(request, authorization: authorization)
        return try AlgoLabReply.content(Content.self, status: status, body: body)
    }

    /// Sends `request` and checks the reply's envelope; its message (AlgoLab's Turkish text).
    public func call(_ request: AlgoLabRequest, authorization: String?) async throws(AlgoLabError) -> String {
        let (status, body) = try await send(request, authorization: authorization)
        return try AlgoLabReply.envelope(AlgoLabReply.Ignored.self, status: status, body: body).message ?? ""
    }

    private func send(_ request: AlgoLabRequest, authorization: String?) async throws(AlgoLabError) -> (Int, [UInt8]) {
        if !request.isLogin && authorization == nil { throw .noSession }
        var wire = HTTPClientRequest(url: restURL + request.path)
        wire.method = .POST
        wire.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in request.headers(apiKey: apiKey, authorization: authorization) { wire.headers.add(name: name, value: value) }
        wire.body = .bytes(ByteBuffer(bytes: request.body))
        await pacer?.turn()
        let reply: Result<(Int, [UInt8]), AlgoLabError>
        do {
            let response = try await http.execute(wire, timeout: timeout)
            let body = try await response.body.collect(upTo: Self.maximumReplyBytes)
            reply = .success((Int(response.status.code), Array(buffer: body)))
        } catch let error as CancellationError {
            reply = .failure(.transport("\(request.endpoint): cancelled (\(error))"))
        } catch {
            reply = .failure(.transport("\(request.endpoint): \(error)"))
        }
        await pacer?.replied()
        return try reply.get()
    }
}
