import Hummingbird
import HummingbirdWebSocket
import Ingest
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// `/ws/market-data`: one WebSocket connection to the fan-out. A thin handler: it reads the
/// client's commands (`ClientCommand`), hands them to the `FanoutHub`, and writes whatever the hub
/// queued for the client, in order. A client that falls `clientQueueCapacity` messages behind is
/// closed with 1008 (policy violation) and a reason, and its TCP connection is cut if it has not
/// taken even that within `slowClientGrace`; one beyond `maximumClients` is closed with 1013 (try
/// again later); all of them with 1001 (going away) when the daemon stops.
public struct MarketDataSocket: Sendable {
    public static let path = "/ws/market-data"
    /// Outbound messages longer than this are sent as several frames (clients' usual frame limit).
    static let frameBytes = 16 * 1024

    let hub: FanoutHub
    let slowClientGrace: TimeAmount
    let commandLimit: CommandRateLimit
    let wakeups = WriterWakeups()
    /// Nil: the socket is open to anyone (no `[auth]`, or `[auth] required = false`).
    let gate: (any MarketDataGate)?
    /// How long a client without an `Authorization` header has to send its `AUTH` message.
    let authenticationWindow: Duration
    let connections = UserConnections()

    /// - Parameters:
    ///   - slowClientGrace: how long a slow client has to take its close frame before its
    ///     connection is cut.
    ///   - commandLimit: how many messages each client may send.
    ///   - gate: who may connect, and with which limits (nil: anyone, unlimited).
    ///   - authenticationWindow: how long a client has to send `AUTH` when its upgrade request
    ///     carried no token.
    public init(hub: FanoutHub, slowClientGrace: TimeAmount = .seconds(2), commandLimit: CommandRateLimit = .standard,
                gate: (any MarketDataGate)? = nil, authenticationWindow: Duration = .seconds(5)) {
        self.hub = hub
        self.slowClientGrace = slowClientGrace
        self.commandLimit = commandLimit
        self.gate = gate
        self.authenticationWindow = authenticationWindow
    }

    public func register<Context: ConnectionRequestContext>(on router: Router<Context>) {
        router.ws(RouterPath(Self.path)) { inbound, outbound, context in
            await serve(inbound: inbound, outbound: outbound, channel: context.requestContext.channel,
                        authorization: context.request.headers[.authorization], logger: context.logger)
        }
    }

    /// The server configuration the socket expects: inbound frames up to 16 KiB.
    public static var serverConfiguration: WebSocketServerConfiguration { .init(maxFrameSize: frameBytes) }

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel, authorization: String? = nil,
               logger: Logger) async {
        var messages = inbound.messages(maxSize: ClientCommand.maximumMessageBytes).makeAsyncIterator()
        var principal: MarketDataPrincipal?
        if let gate {
            guard let admitted = await authenticate(gate, authorization: authorization, messages: &messages, outbound: outbound) else { return }
            guard connections.take(admitted.user, limit: admitted.connectionLimit) else {
                await refuse("at most \(admitted.connectionLimit) connections at once for the \(admitted.level) level; close one first", outbound)
                return
            }
            try? await outbound.write(.text(MarketMessage.authenticated(admitted)))
            principal = admitted
        }
        defer { if let principal { connections.release(principal.user) } }
        // A client that stopped reading leaves the writer waiting on a full socket: nothing
        // written would reach it, so after the grace its connection is closed outright.
        let grace = slowClientGrace
        let writer = ClientWriter(channel: channel, wakeups: wakeups)
        guard let client = hub.connect(onSlow: { channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) } },
                                       onReady: { writer.wake() }) else {
            let reason = "too many clients: at most \(hub.options.maximumClients) (fanout.max_clients); try again later"
            try? await outbound.write(.text(MarketMessage.error(reason)))
            try? await outbound.close(.unknown(1013), reason: reason)
            return
        }
        let drained = writer.attach(client)
        defer { hub.disconnect(client) }
        // A token that expires ends the connection then, with the reason.
        let expiry = principal.map { p in
            Task {
                try await Task.sleep(for: .nanoseconds(max(0, p.expiresNanos - Clock.wallNanos())))
                client.expire()
            }
        }
        defer { expiry?.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await close(client, drained: drained, outbound: outbound) }
            var limit = commandLimit
            var subscribed = Set<SymbolID>()
            do {
                while let message = try await messages.next() {
                    guard limit.allow(at: Clock.monotonicNanos()) else {
                        client.send(ByteBuffer(string: MarketMessage.error(limit.refusal)))
                        continue
                    }
                    switch message {
                    case .text(let text):
                        do throws(ClientCommandError) {
                            let command = try ClientCommand.parse(text, symbols: hub.symbols)
                            if let principal {
                                switch command {
                                case .subscribe(let ids, _):
                                    let after = subscribed.union(ids)
                                    guard after.count <= principal.symbolLimit else {
                                        throw ClientCommandError("at most \(principal.symbolLimit) symbols per connection for the \(principal.level) level "
                                            + "(\(subscribed.count) subscribed now); unsubscribe some first")
                                    }
                                    subscribed = after
                                case .unsubscribe(let ids): subscribed.subtract(ids)
                                }
                            }
                            hub.submit(command, from: client)
                        } catch {
                            client.send(ByteBuffer(string: MarketMessage.error(error.message)))
                        }
                    case .binary:
                        client.send(ByteBuffer(string: MarketMessage.error("binary messages are not understood: send JSON text")))
                    }
                }
            } catch {
                logger.debug("market-data client \(client.id): \(error)")
            }
            // The client went away: the writer stops with its queue.
            client.close()
        }
    }

    /// The principal of the upgrade request's bearer token, or of the first message's `AUTH`
    /// (within the window); nil when the client was refused (it has been told why and closed).
    private func authenticate(_ gate: any MarketDataGate, authorization: String?, messages: inout WebSocketInboundMessageStream.AsyncIterator,
                              outbound: WebSocketOutboundWriter) async -> MarketDataPrincipal? {
        let token: String
        if let authorization {
            guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
                await refuse("the Authorization header is not \"Bearer <access token>\"", outbound)
                return nil
            }
            token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else {
            let window = authenticationWindow
            let timedOut = Atomic<Bool>(false)
            let timer = Task {
                try await Task.sleep(for: window)
                timedOut.store(true, ordering: .releasing)
                await refuse("authenticate within \(window.components.seconds) s: send {\"type\":\"AUTH\",\"token\":\"<access token>\"} first", outbound)
            }
            let first = try? await messages.next()
            timer.cancel()
            guard !timedOut.load(ordering: .acquiring) else { return nil }
            guard case .text(let text)? = first else {
                if first != nil { await refuse("the first message is {\"type\":\"AUTH\",\"token\":\"<access token>\"}", outbound) }
                return nil
            }
            switch ClientCommand.authToken(text) {
            case .success(let t): token = t
            case .failure(let error):
                await refuse(error.message, outbound)
                return nil
            }
        }
        switch await gate.admit(token: token) {
        case .success(let principal):
            return principal
        case .failure(let refusal):
            await refuse("authentication failed: \(refusal.message)", outbound)
            return nil
        }
    }

    /// `ERROR` with the reason, then close 1008 (policy violation) with it.
    private func refuse(_ reason: String, _ outbound: WebSocketOutboundWriter) async {
        try? await outbound.write(.text(MarketMessage.error(reason)))
        // A close reason is at most 123 bytes (RFC 6455, 5.5): the ERROR carries all of it.
        try? await outbound.close(.policyViolation, reason: String(decoding: Array(reason.utf8.prefix(120)), as: UTF8.self))
    }

    /// Once the client's queue has ended and been written, says why if the server is the one closing.
    private func close(_ client: FanoutClient, drained: EventLoopFuture<Void>, outbound: WebSocketOutboundWriter) async {
        do {
            try await drained.get()
            if client.isExpired {
                let reason = "the access token expired; reconnect with a new one"
                try await outbound.write(.text(MarketMessage.error(reason)))
                try await outbound.close(.policyViolation, reason: reason)
            } else if client.isSlow {
                let reason = "slow consumer: more than \(client.capacity) messages queued"
                try await outbound.write(.text(MarketMessage.error(reason)))
                try await outbound.close(.policyViolation, reason: reason)
            } else if hub.isStopping {
                try await outbound.close(.goingAway, reason: "the daemon is stopping")
            }
        } catch {
            // The connection is gone; the reader ends too.
        }
    }
}
