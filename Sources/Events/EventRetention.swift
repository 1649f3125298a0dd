import Ingest
import Logging
import NIOCore
import PostgresNIO

/// Keeps each topic for its retention (`Topic.retentionDays`) without breaking its chain: the
/// oldest events go as a prefix of the chain, and the last one removed becomes the topic's
/// checkpoint (its sequence number and hash), which verification starts after. Run by the events
/// module's maintenance service.
public enum EventRetention {
    /// Removes what is past retention at `now` (nanoseconds since the epoch), in transactions of
    /// at most `chunk` events; returns how many per topic.
    @discardableResult
    public static func run(client: PostgresClient, now: Int64 = Clock.wallNanos(), chunk: Int = 50_000, logger: Logger) async throws -> [Topic: Int] {
        var removed: [Topic: Int] = [:]
        for topic in Topic.allCases {
            let cutoffMicros = (now - Int64(topic.retentionDays) * 86_400_000_000_000) / 1_000
            while true {
                let n = try await client.withTransaction(logger: logger) { c -> Int in
                    // Appends to the topic wait for this transaction: the chain cannot move meanwhile.
                    try await c.query("SELECT 1 FROM event_chain WHERE topic = \(topic.rawValue) FOR UPDATE", logger: logger)
                    let rows = try await c.query("""
                        SELECT seq, hash FROM event_store
                        WHERE topic = \(topic.rawValue)
                          AND seq <= (SELECT max(seq) FROM event_store WHERE topic = \(topic.rawValue)
                                      AND appended_at < TIMESTAMPTZ 'epoch' + \(cutoffMicros) * INTERVAL '1 microsecond')
                        ORDER BY seq LIMIT \(chunk)
                        """, logger: logger)
                    var last: (Int64, ByteBuffer)?
                    var count = 0
                    for try await row in rows.decode((Int64, ByteBuffer).self) {
                        last = row
                        count += 1
                    }
                    guard let (seq, hash) = last else { return 0 }
                    try await c.query("""
                        DELETE FROM event_consumer_applied a USING event_store s
                        WHERE s.topic = \(topic.rawValue) AND s.seq <= \(seq) AND a.event_id = s.event_id
                        """, logger: logger)
                    try await c.query("DELETE FROM event_store WHERE topic = \(topic.rawValue) AND seq <= \(seq)", logger: logger)
                    try await c.query("""
                        UPDATE event_chain SET checkpoint_seq = \(seq), checkpoint_hash = \(hash) WHERE topic = \(topic.rawValue)
                        """, logger: logger)
                    return count
                }
                removed[topic, default: 0] += n
                if n < chunk { break }
            }
        }
        return removed
    }
}
