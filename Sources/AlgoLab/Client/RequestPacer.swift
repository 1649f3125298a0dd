/// AlgoLab's limit of one request a second, kept on our side. Requests take turns in the order
/// they ask, one at a time: a turn ends when its reply (or failure) is in, and the next request
/// goes `interval` after that. AlgoLab counts requests as they arrive, and a request has arrived
/// before its reply leaves, so arrivals are at least `interval` apart however long a busy machine
/// or the network held any of them. (Spacing the starts instead let a request delayed in flight
/// land within the limit of the next one: seen as a 429 in a clean-clone test run.) A 429 still
/// comes through as a typed error: the limit may be shared with another client of the account.
actor RequestPacer {
    let interval: Duration
    private var lastReply: ContinuousClock.Instant?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(interval: Duration) { self.interval = interval }

    /// Returns when this request may go; the caller sends it and then calls `replied()`.
    func turn() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        if let lastReply { try? await Task.sleep(until: lastReply + interval, clock: .continuous) }
    }

    /// Ends the current turn: its reply or failure is in.
    func replied() {
        lastReply = .now
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
