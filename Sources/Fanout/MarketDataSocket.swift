import Hummingbird
import HummingbirdWebSocket
import Ingest
import Logging
import NIOCore
import NIOWebSocket

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
    let symbols: SymbolTable
    let slowClientGrace: TimeAmount
    let commandLimit: CommandRateLimit
    let wakeups = WriterWakeups()

    /// - Parameters:
    ///   - slowClientGrace: how long a slow client has to take its close frame before its
    ///     connection is cut.
    ///   - commandLimit: how many messages each client may send.
    public init(hub: FanoutHub, symbols: SymbolTable, slowClientGrace: TimeAmount = .seconds(2), commandLimit: CommandRateLimit = .standard) {
        self.hub = hub
        self.symbols = symbols
        self.slowClientGrace = slowClientGrace
        self.commandLimit = commandLimit
    }

    public func register<Context: ConnectionRequestContext>(on router: Router<Context>) {
        router.ws(RouterPath(Self.path)) { inbound, outbound, context in
            await serve(inbound: inbound, outbound: outbound, channel: context.requestContext.channel, logger: context.logger)
        }
    }

    /// The server configuration the socket expects: inbound frames up to 16 KiB.
    public static var serverConfiguration: WebSocketServerConfiguration { .init(maxFrameSize: frameBytes) }

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel, logger: Logger) async {
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
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await close(client, drained: drained, outbound: outbound) }
            var limit = commandLimit
            do {
                for try await message in inbound.messages(maxSize: ClientCommand.maximumMessageBytes) {
                    guard limit.allow(at: Clock.monotonicNanos()) else {
                        client.send(ByteBuffer(string: MarketMessage.error(limit.refusal)))
                        continue
                    }
                    switch message {
                    case .text(let text):
                        do throws(ClientCommandError) { hub.submit(try ClientCommand.parse(text, symbols: symbols), from: client) } catch {
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

    /// Once the client's queue has ended and been written, says why if the server is the one closing.
    private func close(_ client: FanoutClient, drained: EventLoopFuture<Void>, outbound: WebSocketOutboundWriter) async {
        do {
            try await drained.get()
            if client.isSlow {
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
