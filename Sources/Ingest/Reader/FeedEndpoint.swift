/// One configured feed: where it is, which side opens the connection, and its wire format.
public struct FeedEndpoint: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        /// Bind to the address: accept TCP feed connections (any number), or receive UDP datagrams.
        case listen
        /// Connect out to a TCP feed server, and reconnect when it drops.
        case connect
    }

    /// A name for logs and metrics.
    public var name: String
    /// Stamped on every tick from this feed; sequence numbers are tracked per id.
    public var id: UInt16
    public var address: FeedAddress
    public var role: Role
    public var format: FeedFormat
    /// For a UDP multicast group: the local IPv4 address of the interface to join it on.
    public var multicastInterface: String
    public var reconnectInitialNanos: Int64
    public var reconnectMaximumNanos: Int64
    public var connectTimeoutNanos: Int64
    /// For an exchange feed (`bist-itch`): recovery, time base and liveness.
    public var exchange = ExchangeFeedOptions()

    public init(
        name: String, id: UInt16, address: FeedAddress, role: Role = .listen, format: FeedFormat = .binary,
        multicastInterface: String = "0.0.0.0", reconnectInitialNanos: Int64 = 100_000_000,
        reconnectMaximumNanos: Int64 = 10_000_000_000, connectTimeoutNanos: Int64 = 5_000_000_000
    ) {
        self.name = name
        self.id = id
        self.address = address
        self.role = role
        self.format = format
        self.multicastInterface = multicastInterface
        self.reconnectInitialNanos = reconnectInitialNanos
        self.reconnectMaximumNanos = reconnectMaximumNanos
        self.connectTimeoutNanos = connectTimeoutNanos
    }
}

/// The settings of an exchange feed (`bist-itch`) besides its address.
public struct ExchangeFeedOptions: Sendable, Equatable {
    /// Where retransmission requests go (unicast UDP); none: gaps are given up at once.
    public var rewinder: FeedAddress?
    public var recovery = MoldUDP64Receiver.Budget()
    public var secondsBase = BISTOrderBooks.SecondsBase.epoch
    /// No packet, not even a heartbeat, for this long: the feed is reported stale.
    public var staleAfterNanos: Int64 = 5_000_000_000
    /// Levels per side published to the depth board (0: none).
    public var depthLevels = 10
    /// An instrument's depth is published at most this often (when its book changed).
    public var depthIntervalNanos: Int64 = 100_000_000

    public init() {}
}
