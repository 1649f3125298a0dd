import Foundation
import Store
import Synchronization

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
        let offered = try detectOnAThreadOfItsOwn(url)
        guard let named = ProcessInfo.processInfo.environment["AKIS_TEST_LAYOUT"], !named.isEmpty else { return offered }
        guard let wanted = StorageLayout(rawValue: named) else {
            throw StoreError("AKIS_TEST_LAYOUT must be plain or timescale, not \(named)")
        }
        guard wanted == offered else {
            throw StoreError("AKIS_TEST_LAYOUT=\(named), but the test server (\(url)) offers the \(offered.rawValue) layout")
        }
        return offered
    }

    /// The first caller may be on the cooperative pool, where libpq refuses to run: the one
    /// detection of the process runs on a thread of its own, a connection's few milliseconds.
    private static func detectOnAThreadOfItsOwn(_ url: String) throws -> StorageLayout {
        let answer = Mutex<Result<StorageLayout, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            answer.withLock { $0 = Result { try StorageLayout.detect(LibpqConnection(conninfo: url)) } }
            done.signal()
        }.start()
        guard done.wait(timeout: .now() + 60) == .success, let result = answer.withLock({ $0 }) else {
            throw StoreError("the test server (\(url)) did not answer within 60 s")
        }
        return try result.get()
    }
}

/// A database of one test's own on the test server, dropped afterwards; `body` gets its
/// connection string. libpq blocks: call it off the cooperative pool.
public func withScratchDatabase(_ body: (String) throws -> Void) throws {
    let name = try createScratchDatabase()
    defer { dropScratchDatabase(name) }
    try body(scratchURL(name))
}

/// `withScratchDatabase` for async tests: the database is created and dropped off the pool.
public func withScratchDatabase(_ body: (String) async throws -> Void) async throws {
    let name = try await offThePool { try createScratchDatabase() }
    do {
        try await body(scratchURL(name))
    } catch {
        _ = try? await offThePool { dropScratchDatabase(name) }
        throw error
    }
    try await offThePool { dropScratchDatabase(name) }
}

/// A connection to `url` with the schema migrated for the layout under test.
public func migrated(_ url: String) throws -> LibpqConnection {
    let db = try LibpqConnection(conninfo: url)
    try Migrator(layout: testLayout()).run(on: db)
    return db
}

/// Creates a database with a fresh name; returns the name.
private func createScratchDatabase() throws -> String {
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    try LibpqConnection(conninfo: testDatabaseURL()).execute("CREATE DATABASE \(name)")
    return name
}

private func scratchURL(_ name: String) throws -> String { "\(try testDatabaseURL()) dbname=\(name)" }

private func dropScratchDatabase(_ name: String) {
    _ = try? LibpqConnection(conninfo: testDatabaseURL()).execute("DROP DATABASE \(name) WITH (FORCE)")
}

