import Foundation
import Store

/// The private cluster that scripts/test starts, named by AKIS_TEST_DATABASE_URL. Tests that need
/// it fail (never skip) without it.
public func testDatabaseURL() throws -> String {
    guard let url = ProcessInfo.processInfo.environment["AKIS_TEST_DATABASE_URL"], !url.isEmpty else { throw TestDatabaseMissing() }
    return url
}

public struct TestDatabaseMissing: Error, CustomStringConvertible {
    public init() {}
    public var description: String {
        "AKIS_TEST_DATABASE_URL is not set: run the suite with scripts/test, which starts a private PostgreSQL"
    }
}

/// The storage layout this run tests. scripts/test runs the storage tests once per layout and
/// names it in AKIS_TEST_LAYOUT; the test server must then offer that layout, so a leg never
/// passes on the other one. Without the variable: whatever the test server offers.
public func testLayout() throws -> StorageLayout { try TestLayout.value.get() }

private enum TestLayout {
    static let value = Result<StorageLayout, any Error> {
        let url = try testDatabaseURL()
        let offered = try StorageLayout.detect(LibpqConnection(conninfo: url))
        guard let named = ProcessInfo.processInfo.environment["AKIS_TEST_LAYOUT"], !named.isEmpty else { return offered }
        guard let wanted = StorageLayout(rawValue: named) else {
            throw StoreError("AKIS_TEST_LAYOUT must be plain or timescale, not \(named)")
        }
        guard wanted == offered else {
            throw StoreError("AKIS_TEST_LAYOUT=\(named), but the test server (\(url)) offers the \(offered.rawValue) layout")
        }
        return offered
    }
}

/// A database of one test's own on the test server, dropped afterwards; `body` gets its
/// connection string.
public func withScratchDatabase(_ body: (String) throws -> Void) throws {
    let (url, drop) = try scratchDatabase()
    defer { drop() }
    try body(url)
}

public func withScratchDatabase(_ body: (String) async throws -> Void) async throws {
    let (url, drop) = try scratchDatabase()
    defer { drop() }
    try await body(url)
}

/// A connection to `url` with the schema migrated for the layout under test.
public func migrated(_ url: String) throws -> LibpqConnection {
    let db = try LibpqConnection(conninfo: url)
    try Migrator(layout: testLayout()).run(on: db)
    return db
}

/// Creates the database; returns its connection string and what drops it.
private func scratchDatabase() throws -> (String, () -> Void) {
    let base = try testDatabaseURL()
    let admin = try LibpqConnection(conninfo: base)
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try admin.execute("CREATE DATABASE \(name)")
    return ("\(base) dbname=\(name)", { _ = try? admin.execute("DROP DATABASE \(name) WITH (FORCE)") })
}

