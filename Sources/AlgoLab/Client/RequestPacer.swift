/// AlgoLab's limit of one request a second, kept on our side: each request takes the next free
/// slot, in the order they asked, and waits for it. A 429 still comes through as a typed error
/// (the limit may be shared with another client of the same account).
actor RequestPacer {
    let interval: Duration
    private var next = ContinuousClock.now

    init(interval: Duration) { self.interval = interval }

    /// The time this request may go.
    func slot() -> ContinuousClock.Instant {
        let slot = max(ContinuousClock.now, next)
        next = slot + interval
        return slot
    }
}
