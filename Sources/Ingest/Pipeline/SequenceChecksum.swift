/// An order-independent fingerprint of a set of (feed, sequence) pairs: equal for two sets exactly
/// when (up to hash collisions) they hold the same pairs the same number of times. End-to-end tests
/// compare what a feed sent with what reached the pipeline's consumers.
public struct SequenceChecksum: Sendable, Equatable, CustomStringConvertible {
    public private(set) var count: UInt64 = 0
    public private(set) var sum: UInt64 = 0
    public private(set) var mixed: UInt64 = 0

    public init() {}

    @inline(__always)
    public mutating func add(feed: UInt16, sequence: UInt64) {
        count &+= 1
        sum &+= sequence
        // SplitMix64's finaliser: a bijective scramble, so sums of it catch swapped members.
        var z = sequence ^ (UInt64(feed) << 48) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed &+= z ^ (z >> 31)
    }

    /// "count:sum:mixed", in hex for the last two.
    public var description: String { "\(count):\(String(sum, radix: 16)):\(String(mixed, radix: 16))" }
}
