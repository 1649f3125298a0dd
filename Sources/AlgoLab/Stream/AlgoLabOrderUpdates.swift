import Synchronization

/// The `O` messages of the WebSocket, for whoever follows the account's orders (the orders
/// module; `akis algolab orders`): each subscriber gets every update from the time it subscribed,
/// in order. A subscriber that falls 10,000 updates behind loses the oldest (counted).
public final class AlgoLabOrderUpdates: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<AlgoLabOrderUpdate>.Continuation]>([:])
    private let nextID = Mutex(0)

    public init() {}

    /// Every update from now on, until the stream is dropped.
    public func subscribe() -> AsyncStream<AlgoLabOrderUpdate> {
        let id = nextID.withLock { n in
            n += 1
            return n
        }
        let (stream, continuation) = AsyncStream.makeStream(of: AlgoLabOrderUpdate.self, bufferingPolicy: .bufferingNewest(10_000))
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func publish(_ update: AlgoLabOrderUpdate) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(update) }
    }

    func finish() {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.finish() }
    }
}
