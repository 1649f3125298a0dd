/// AlgoLab's limit of one request a second, kept on our side: requests take turns in the order
/// they ask, and a turn starts `interval` after the one before it started, measured when that
/// request was about to go (not when it asked), so that a request delayed on a busy machine does
/// not bring the next one closer. A 429 still comes through as a typed error (the limit may be
/// shared with another client of the same account).
actor RequestPacer {
    let interval: Duration
    private var last: ContinuousClock.Instant?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(interval: Duration) { self.interval = interval }

    /// Returns when this request may go.
    func turn() async {
        if busy { await withCheckedContinuation { waiting.append($0) } }
        busy = true
        if let last { try? await Task.sleep(until: last + interval, clock: .continuous) }
        last = .now
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
