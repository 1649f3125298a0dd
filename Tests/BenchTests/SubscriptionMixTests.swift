import Ingest
import Testing
@testable import Bench

@Suite struct SubscriptionMixTests {
    @Test func firehoseFirstThenDealtRoundTheUniverse() throws {
        let mix = try SubscriptionMix(clients: 5, symbolsPerClient: 3, firehose: 2, symbolCount: 4)
        #expect(mix.clients.count == 5)
        #expect(mix.clients[0].count == 4 && mix.clients[1].count == 4)
        #expect(mix.clients[2...].map { $0.map(\.rawValue) } == [[0, 1, 2], [3, 0, 1], [2, 3, 0]])
        #expect(mix.groups.map(\.members) == [0..<2, 2..<5])
        #expect(mix.groups.map(\.name) == ["firehose (4 symbols)", "3 symbols each"])
    }

    @Test func theGoalMixWatchesEverySymbolAboutEquallyOften() throws {
        let mix = try SubscriptionMix(clients: 100, symbolsPerClient: 3, firehose: 2, symbolCount: 30)
        var watched = [Int](repeating: 0, count: 30)
        for client in mix.clients[2...] { for s in client { watched[Int(s.rawValue)] += 1 } }
        #expect(watched.min()! >= 9 && watched.max()! <= 10)
        #expect(watched.reduce(0, +) == 98 * 3)
    }

    @Test func badMixesAreRefusedWithTheOptionNamed() {
        #expect(throws: BenchError.self) { try SubscriptionMix(clients: 2, symbolsPerClient: 1, firehose: 3, symbolCount: 30) }
        #expect(throws: BenchError.self) { try SubscriptionMix(clients: 2, symbolsPerClient: 31, firehose: 0, symbolCount: 30) }
        #expect(throws: BenchError.self) { try SubscriptionMix(clients: 2, symbolsPerClient: 0, firehose: 0, symbolCount: 30) }
        do {
            _ = try SubscriptionMix(clients: 2, symbolsPerClient: 1, firehose: 3, symbolCount: 30)
        } catch {
            #expect("\(error)".contains("--firehose"))
        }
    }
}
