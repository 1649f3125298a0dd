import Synchronization

/// What one module offers the modules assembled after it, by type: the events module's
/// `EventStore`, say, which auth and orders append through. A module registers its part while it
/// is built; a later one takes it in its `init(context:)`.
public final class SharedParts: Sendable {
    private let parts = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// Offers `part` to the modules built after this one (one part per type).
    public func offer<T: Sendable>(_ part: T) {
        parts.withLock { parts in
            precondition(parts[ObjectIdentifier(T.self)] == nil, "\(T.self) is offered twice")
            parts[ObjectIdentifier(T.self)] = part
        }
    }

    /// The part of type `T` an earlier module offered; a clear error when none did (the module
    /// that offers it is missing from the assembly, or comes after this one).
    public func take<T: Sendable>(_: T.Type = T.self, for module: String) throws -> T {
        guard let part = parts.withLock({ $0[ObjectIdentifier(T.self)] }) as? T else {
            throw DaemonError("the \(module) module needs \(T.self), which no module assembled before it offers")
        }
        return part
    }
}
