import Ingest

/// A rewinder for tests: answers from a synthetic session's messages, or stays silent.
public func testRewinder(_ session: SyntheticITCHSession, silent: Bool = false) throws -> MoldUDP64Rewinder {
    try MoldUDP64Rewinder(archive: silent ? MoldUDP64Archive() : session.archive, address: FeedAddress(parsing: "udp://127.0.0.1:0"))
}
