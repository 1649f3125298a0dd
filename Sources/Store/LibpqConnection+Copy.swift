import CLibPQ

extension LibpqConnection {
    /// Runs `COPY … FROM STDIN` with `data` as the whole input stream; returns the rows copied.
    /// On failure the server has stored none of them (COPY is all or nothing).
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws -> Int {
        try refuseOnCooperativePool(sql)
        guard let start = PQexec(connection, sql) else { throw statementError(sql) }
        let status = PQresultStatus(start)
        if status != PGRES_COPY_IN {
            defer { PQclear(start) }
            _ = try Self.read(start, sql: sql)
            throw LibpqError.statement(sql: sql, sqlState: "", message: "the statement did not start a COPY FROM STDIN")
        }
        PQclear(start)
        // In chunks, so that libpq never needs a second copy of a large batch.
        let chunk = 1 << 20
        var sent = 0
        var failure: String?
        data.withUnsafeBufferPointer { all in
            while sent < all.count {
                let n = min(chunk, all.count - sent)
                let rc = all.baseAddress!.advanced(by: sent).withMemoryRebound(to: CChar.self, capacity: n) {
                    PQputCopyData(connection, $0, Int32(n))
                }
                if rc != 1 { failure = errorMessage; return }
                sent += n
            }
        }
        if PQputCopyEnd(connection, failure) != 1 && failure == nil { failure = errorMessage }
        var rows = 0
        var error: (any Error)?
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            do { rows = try Self.read(result, sql: sql).affectedRows } catch let e { if error == nil { error = e } }
        }
        if let error { throw error }
        if let failure { throw LibpqError.statement(sql: sql, sqlState: "", message: failure) }
        return rows
    }
}
