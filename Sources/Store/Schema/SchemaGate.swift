import Ingest

/// Opens once the database's schema is up to date, and tells its layout. The store writer's
/// committer waits on it before it stores anything: a database that was down when the daemon
/// started is migrated when it comes back, and only then written to.
public final class SchemaGate: Sendable {
    private let lock = ConditionLock()
    private nonisolated(unsafe) var opened: StorageLayout?

    /// Closed until `open(_:)`.
    public init() {}

    /// Already open (the schema is known to be up to date) with `layout`.
    public init(open layout: StorageLayout) { opened = layout }

    public func open(_ layout: StorageLayout) {
        lock.withLock {
            opened = layout
            lock.broadcast()
        }
    }

    /// The layout, once open.
    public var layout: StorageLayout? { lock.withLock { opened } }

    /// Blocks until open or `timeoutNanos` passed; returns the layout when open.
    public func wait(timeoutNanos: Int64) -> StorageLayout? {
        lock.withLock {
            if opened == nil { lock.wait(timeoutNanos: timeoutNanos) }
            return opened
        }
    }
}
