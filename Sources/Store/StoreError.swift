/// A store failure that is not PostgreSQL's: the spool's files, or bad store settings.
public struct StoreError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
