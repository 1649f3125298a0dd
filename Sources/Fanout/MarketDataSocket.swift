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

    /// - Parameter slowClientGrace: how long a slow client has to take its close frame before its
    ///   connection is cut.
    public init(hub: FanoutHub, symbols: SymbolTable, slowClientGrace: TimeAmount = .seconds(2)) {
        self.hub = hub
        self.symbols = symbols
        self.slowClientGrace = slowClientGrace
    }

    public func register(on router: Router<FanoutRequestContext>) {
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
        guard let client = hub.connect(onSlow: { channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) } }) else {
            let reason = "too many clients: at most \(hub.options.maximumClients) (fanout.max_clients); try again later"
            try? await outbound.write(.text(MarketMessage.error(reason)))
            try? await outbound.close(.unknown(1013), reason: reason)
            return
        }
        defer { hub.disconnect(client) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await write(client, to: outbound) }
            do {
                for try await message in inbound.messages(maxSize: ClientCommand.maximumMessageBytes) {
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

    /// Writes the client's queue until it ends, then says why if the server is the one closing.
    private func write(_ client: FanoutClient, to outbound: WebSocketOutboundWriter) async {
        do {
            // A slow client's backlog is not worth sending: it hears why it is cut off instead.
            for await message in client.messages where !client.isSlow {
                try await send(message, to: outbound)
            }
            if client.isSlow {
                let reason = "slow consumer: more than \(client.capacity) messages queued"
                try await send(ByteBuffer(string: MarketMessage.error(reason)), to: outbound)
                try await outbound.close(.policyViolation, reason: reason)
            } else if hub.isStopping {
                try await outbound.close(.goingAway, reason: "the daemon is stopping")
            }
        } catch {
            // The connection is gone; the reader ends too.
        }
    }

    private func send(_ message: ByteBuffer, to outbound: WebSocketOutboundWriter) async throws {
        guard message.readableBytes > Self.frameBytes else {
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: message)))
            return
        }
        var rest = message
        var opcode = WebSocketOpcode.text
        while rest.readableBytes > 0 {
            let part = rest.readSlice(length: min(Self.frameBytes, rest.readableBytes))!
            try await outbound.write(.custom(WebSocketFrame(fin: rest.readableBytes == 0, opcode: opcode, data: part)))
            opcode = .continuation
        }
    }
}
