import Ingest
import Store
import TestSupport
import Testing

/// libpq blocks: on the cooperative pool it refuses before it connects, with the call named.
@Suite(.timeLimit(.minutes(1))) struct CooperativePoolRuleTests {
    @Test func libpqRefusesToRunOnThePool() async throws {
        #if DEBUG
        let error = #expect(throws: BlockingOnCooperativePool.self) { try LibpqConnection(conninfo: testDatabaseURL()) }
        #expect(error?.what == "connecting with libpq")
        #endif
        let answer = try await offThePool { try LibpqConnection(conninfo: testDatabaseURL()).execute("SELECT 1").rows }
        #expect(answer == [["1"]])
    }
}
