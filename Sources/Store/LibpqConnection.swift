import CLibPQ
import Glibc
import Ingest

/// Why a PostgreSQL operation failed.
public enum LibpqError: Error, CustomStringConvertible, Equatable {
    /// Could not connect; `message` is libpq's reason.
    case connection(message: String)
    /// A statement failed; `sqlState` is the five-character SQLSTATE (e.g. 42P01).
    case statement(sql: String, sqlState: String, message: String)

    public var description: String {
        switch self {
        case .connection(let message): "cannot connect to PostgreSQL: \(message)"
        case .statement(let sql, let state, let message):
            "PostgreSQL error \(state) in \(String(sql.prefix(80)).debugDescription): \(message)"
        }
    }
}

/// The rows of a query, as text (PostgreSQL's text output format).
public struct QueryResult: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE; 0 otherwise.
    public var affectedRows: Int
}

/// One libpq connection, used from one thread at a time: what postgres-nio cannot do for us (binary
/// COPY on the hot path, the spool drain, migrations, blocking tools). The request/response side
/// uses postgres-nio's `PostgresClient` instead.
public final class LibpqConnection {
    let connection: OpaquePointer

    /// Connects with a libpq connection string (`host=/path port=5432 dbname=akis` or a
    /// `postgresql://` URL).
    public init(conninfo: String) throws {
        try CooperativePool.refuseBlocking("connecting with libpq")
        guard let c = PQconnectdb(conninfo) else { throw LibpqError.connection(message: "out of memory") }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(c)).trimmingTrailingWhitespace()
            PQfinish(c)
            throw LibpqError.connection(message: message)
        }
        // Notices ("… does not exist, skipping") are not for the daemon's journal; libpq would
        // print each to stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        connection = c
    }

    deinit { PQfinish(connection) }

    /// The server version as PostgreSQL reports it, e.g. 150018 for 15.18.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Runs one or more statements; returns the result of the last.
    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        try refuseOnCooperativePool(sql)
        guard let result = PQexec(connection, sql) else {
            throw LibpqError.statement(sql: sql, sqlState: "", message: String(cString: PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        return try Self.read(result, sql: sql)
    }

    /// Runs one statement with text parameters ($1, $2, …); `nil` is SQL NULL.
    @discardableResult
    public func execute(_ sql: String, parameters: [String?]) throws -> QueryResult {
        try refuseOnCooperativePool(sql)
        var cStrings = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.withUnsafeMutableBufferPointer { values in
            values.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constValues in
                PQexecParams(connection, sql, Int32(parameters.count), nil, constValues.baseAddress, nil, nil, 0)
            }
        }
        guard let result else {
            throw LibpqError.statement(sql: sql, sqlState: "", message: String(cString: PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        return try Self.read(result, sql: sql)
    }

    /// Whether the server can `CREATE EXTENSION name` (it is installed on the server's disk).
    public func isExtensionAvailable(_ name: String) throws -> Bool {
        try execute("SELECT 1 FROM pg_available_extensions WHERE name = $1", parameters: [name]).rows.count == 1
    }

    /// libpq blocks until the server answers: never on the cooperative pool.
    func refuseOnCooperativePool(_ sql: String) throws {
        try CooperativePool.refuseBlocking("libpq \(String(sql.prefix(60)).debugDescription)")
    }

    var errorMessage: String { String(cString: PQerrorMessage(connection)).trimmingTrailingWhitespace() }

    func statementError(_ sql: String) -> LibpqError {
        .statement(sql: sql, sqlState: "", message: errorMessage)
    }

    /// Whether the connection is still usable (libpq's view; a dead server shows on the next call).
    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    static func read(_ result: OpaquePointer, sql: String) throws -> QueryResult {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? String(cString: PQresultErrorMessage(result))
            throw LibpqError.statement(sql: sql, sqlState: state, message: message)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let rows: [[String?]] = (0..<rowCount).map { r in
            (0..<columnCount).map { c in
                PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return QueryResult(columns: columns, rows: rows, affectedRows: affected)
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
