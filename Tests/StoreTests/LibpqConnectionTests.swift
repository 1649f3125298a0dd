import Foundation
import Store
import TestSupport
import Testing

func testDatabase() throws -> LibpqConnection { try LibpqConnection(conninfo: testDatabaseURL()) }

/// A schema of its own for one test, dropped afterwards.
func withScratchSchema(_ body: (LibpqConnection, String) throws -> Void) throws {
    let db = try testDatabase()
    let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try db.execute("CREATE SCHEMA \(schema)")
    defer { _ = try? db.execute("DROP SCHEMA \(schema) CASCADE") }
    try body(db, schema)
}

@Suite(.offThePool, .timeLimit(.minutes(3))) struct PostgresConnectionTests {
    @Test func connectsToTheRealServer() throws {
        let db = try testDatabase()
        #expect(db.serverVersion >= 150_000)
        let result = try db.execute("SELECT current_setting('server_version_num')::int AS v")
        #expect(result.columns == ["v"])
        #expect(Int(result.rows[0][0] ?? "") == db.serverVersion)
    }

    @Test func createsATableAndReadsExactPricesBack() throws {
        try withScratchSchema { db, schema in
            try db.execute("CREATE TABLE \(schema).ticks (symbol text NOT NULL, price numeric(18,6) NOT NULL, volume bigint NOT NULL)")
            let insert = try db.execute("INSERT INTO \(schema).ticks VALUES ($1, $2, $3), ($4, $5, $6)",
                                        parameters: ["AKBNK", "15.75", "10000", "THYAO", "291.25", "5"])
            #expect(insert.affectedRows == 2)
            let rows = try db.execute("SELECT symbol, price::text, volume FROM \(schema).ticks ORDER BY symbol").rows
            #expect(rows == [["AKBNK", "15.750000", "10000"], ["THYAO", "291.250000", "5"]])
            let sum = try db.execute("SELECT sum(price)::text FROM \(schema).ticks").rows[0][0]
            #expect(sum == "307.000000")
        }
    }

    @Test func statementErrorsCarrySQLStateAndMessage() throws {
        let db = try testDatabase()
        #expect {
            try db.execute("SELECT * FROM no_such_table_akis")
        } throws: { error in
            guard case LibpqError.statement(_, let state, let message) = error else { return false }
            return state == "42P01" && message.contains("no_such_table_akis")
        }
        // The connection stays usable after an error.
        #expect(try db.execute("SELECT 1").rows == [["1"]])
    }

    @Test func hostileParametersAreDataNotSQL() throws {
        try withScratchSchema { db, schema in
            try db.execute("CREATE TABLE \(schema).t (s text)")
            let hostile = "x'); DROP TABLE \(schema).t; --"
            try db.execute("INSERT INTO \(schema).t VALUES ($1)", parameters: [hostile])
            #expect(try db.execute("SELECT s FROM \(schema).t").rows == [[hostile]])
        }
    }

    @Test func unreachableServerGivesAClearError() {
        #expect {
            _ = try LibpqConnection(conninfo: "host=/nonexistent/akis-socket-dir port=1 connect_timeout=2")
        } throws: { error in
            guard case LibpqError.connection(let message) = error else { return false }
            return message.contains("/nonexistent/akis-socket-dir") && "\(error)".hasPrefix("cannot connect to PostgreSQL")
        }
    }

    @Test func reportsWhetherTimescaleDBIsAvailable() throws {
        let db = try testDatabase()
        let available = try db.isExtensionAvailable("timescaledb")
        let listed = try db.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").rows[0][0]
        #expect(available == (listed == "1"))
        #expect(try db.isExtensionAvailable("plpgsql"))
    }
}
