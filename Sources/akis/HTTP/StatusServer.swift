import Atomics
import Fanout
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Ingest
import Logging
import ServiceLifecycle

/// The daemon's HTTP side: `/metrics` (Prometheus), `/healthz`, `/readyz` for operators and the
/// market API (`MarketRoutes`) and the live WebSocket (`MarketDataSocket`) for clients. Handlers are thin: they read from
/// `ServeMetrics`, a readiness flag, and the history service.
final class StatusServer: Sendable {
    private let group: ServiceGroup
    private let port = ManagedAtomic<Int>(0)
    private let finished = ManagedAtomic<Bool>(false)

    /// Starts serving on `address` (port 0 picks one) and waits until it listens.
    init(host: String, port requested: Int, metrics: ServeMetrics, ready: ManagedAtomic<Bool>, market: MarketRoutes,
         marketData: MarketDataSocket, logger: Logger) throws {
        let router = Router(context: FanoutRequestContext.self)
        market.register(on: router)
        marketData.register(on: router)
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            ready.load(ordering: .acquiring)
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "starting\n")))
        }
        let bound = port
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: MarketDataSocket.serverConfiguration)),
            configuration: .init(address: .hostname(host, port: requested), serverName: "akis"),
            onServerRunning: { channel in bound.store(channel.localAddress?.port ?? -1, ordering: .releasing) },
            logger: quiet)
        let failure = ErrorBox()
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        self.group = group
        let finished = finished
        Task {
            do { try await group.run() } catch {
                failure.set(error)
                bound.store(-1, ordering: .releasing)
            }
            finished.store(true, ordering: .releasing)
        }
        let deadline = Date().addingTimeInterval(10)
        while bound.load(ordering: .acquiring) == 0 {
            if Date() > deadline { throw CLIError("the HTTP server on \(host):\(requested) did not start within 10 s") }
            usleep(5_000)
        }
        if bound.load(ordering: .acquiring) < 0 {
            throw CLIError("cannot serve HTTP on \(host):\(requested): \(failure.error.map { "\($0)" } ?? "unknown error")")
        }
    }

    /// The port it listens on.
    var boundPort: Int { port.load(ordering: .acquiring) }

    /// Stops accepting, lets requests in flight finish (at most 5 s), and returns.
    func stop() {
        let group = group
        Task { await group.triggerGracefulShutdown() }
        let deadline = Date().addingTimeInterval(5)
        while !finished.load(ordering: .acquiring) && Date() < deadline { usleep(5_000) }
    }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    func set(_ e: any Error) { lock.lock(); stored = e; lock.unlock() }
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return stored }
}
