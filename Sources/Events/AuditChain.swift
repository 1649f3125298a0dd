import Crypto

/// The event store's hash chain: each event's hash is SHA-256 over the previous event's hash, its
/// sequence number (8 bytes, big-endian) and its envelope's bytes. Changing, removing, inserting
/// or renumbering any event breaks the link at it or at the next one. Pure logic: the store
/// computes links with it when appending, `akis audit verify` checks them.
public enum AuditChain {
    /// The "previous hash" of the first event: 32 zero bytes.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    public static func link(previous: [UInt8], sequence: Int64, envelope: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: UInt64(bitPattern: sequence).bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: envelope)
        return Array(hasher.finalize())
    }

    /// Where verification stands: feed it the stored events in sequence order.
    public struct Verifier: Sendable {
        /// The hash the next event must chain from.
        public private(set) var previous: [UInt8]
        /// The sequence number the next event must have (nil: whatever comes first).
        public private(set) var expected: Int64?
        public private(set) var checked = 0

        /// Starts at the genesis, or at a kept checkpoint (the last event retention removed).
        public init(after checkpoint: (sequence: Int64, hash: [UInt8])? = nil) {
            previous = checkpoint?.hash ?? AuditChain.genesis
            expected = checkpoint.map { $0.sequence + 1 }
        }

        /// Checks one stored event; the first broken link is thrown, naming the event.
        public mutating func check(sequence: Int64, envelope: [UInt8], hash: [UInt8]) throws(BrokenLink) {
            if let expected, sequence != expected {
                throw BrokenLink(sequence: sequence, reason: sequence > expected
                    ? "events \(expected)...\(sequence - 1) are missing"
                    : "sequence \(sequence) comes after \(expected - 1): out of order or repeated")
            }
            let computed = AuditChain.link(previous: previous, sequence: sequence, envelope: envelope)
            guard computed == hash else {
                throw BrokenLink(sequence: sequence, reason: "its stored hash does not match its envelope and the chain before it "
                    + "(changed, or an event before it was changed or removed)")
            }
            previous = hash
            expected = sequence + 1
            checked += 1
        }
    }

    /// The first event at which the chain does not hold.
    public struct BrokenLink: Error, Equatable, CustomStringConvertible {
        public let sequence: Int64
        public let reason: String
        public init(sequence: Int64, reason: String) {
            self.sequence = sequence
            self.reason = reason
        }
        public var description: String { "the audit chain is broken at event \(sequence): \(reason)" }
    }
}
