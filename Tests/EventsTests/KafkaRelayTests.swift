import Events
import Foundation
import Ingest
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// The relay against a real Kafka-protocol broker (tansu) and the real server.
@Suite(.offThePool, .timeLimit(.minutes(3))) struct KafkaRelayTests {
    static let logger = Logger(label: "relay-test")

    func prepare(_ url: String) throws {
        let db = try LibpqConnection(conninfo: url)
        try Migrator(layout: testLayout(), schemas: [.init(module: "events", migrations: EventsModule.migrations)]).run(on: db)
    }

    /// Orders 1...n of users u-0…u-9 (order n belongs to u-(n % 10)), one transaction each.
    func appendOrders(_ range: ClosedRange<Int>, _ client: PostgresClient) async throws -> [Event] {
        let store = EventStore()
        var events: [Event] = []
        for n in range {
            let event = Event(.orderCreated, key: "u-\(n % 10)", data: [("orderId", .string("o-\(n)")), ("n", .integer(Int64(n)))])
            events.append(event)
            _ = try await client.withTransaction(logger: Self.logger) { c in try await store.append([event], on: c, logger: Self.logger) }
        }
        return events
    }

    func position(_ url: String, _ topic: Topic) throws -> Int64 {
        let rows = try LibpqConnection(conninfo: url).execute(
            "SELECT position FROM event_consumer_positions WHERE consumer = 'kafka-relay' AND topic = '\(topic.rawValue)'").rows
        return rows.first.flatMap { Int64($0[0] ?? "") } ?? 0
    }

    @Test func eventsArriveInPerKeyOrderWithTheEnvelopeAndThePositionFollowsTheDeliveries() async throws {
        let broker = try TestKafkaBroker(topics: Topic.allCases.map { ($0.rawValue, $0.partitions) })
        try await withScratchDatabase { url in
            try prepare(url)
            try await withPool(url) { client in
                var sent = try await appendOrders(1...150, client)
                let welcome = Event(.userRegistered, key: "u-3", data: [("userId", .string("u-3")), ("email", .string("a@example.com"))])
                _ = try await client.withTransaction(logger: Self.logger) { c in try await EventStore().append([welcome], on: c, logger: Self.logger) }

                var consumerOptions = EventConsumers.Options()
                consumerOptions.pollInterval = .seconds(60)  // prompt deliveries below prove the NOTIFY wake-up
                let consumers = EventConsumers(client: client, options: consumerOptions, logger: Self.logger)
                var options = KafkaRelay.Options()
                options.batch = 40  // several rounds
                options.pollInterval = .seconds(60)
                let relay = try KafkaRelay(client: client, brokers: [broker.address], options: options, logger: Self.logger, appended: consumers.wakeups())
                let running = Task { try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await consumers.run() }
                    group.addTask { try await relay.run() }
                } }
                defer { running.cancel() }
                try await waitUntil("150 orders relayed", within: .seconds(60)) { try position(url, .trading) == 150 }
                sent += try await appendOrders(151...200, client)
                try await waitUntil("the notified orders relayed", within: .seconds(30)) { try position(url, .trading) == 200 }
                #expect(try position(url, .user) == 1)
                #expect(relay.relayed.load(ordering: .relaxed) == 201)
                #expect(relay.lag[.trading]!.load(ordering: .relaxed) == 0)

                let records = try broker.read(Topic.trading.rawValue, count: 200)
                #expect(records.count == 200)
                let byID = Dictionary(uniqueKeysWithValues: sent.map { ($0.id.uuidString.lowercased(), $0) })
                var partitionOfKey: [String: Int] = [:]
                var lastOfKey: [String: (partition: Int, offset: Int64, n: Int64)] = [:]
                for r in records.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
                    let envelope = try #require(try JSONSerialization.jsonObject(with: Data(r.value.utf8)) as? [String: Any])
                    let event = try #require(byID[envelope["eventId"] as? String ?? ""], "an event that was appended: \(r.value)")
                    #expect(r.value == String(decoding: event.envelope, as: UTF8.self), "the stored envelope, byte for byte")
                    #expect(Set(envelope.keys) == ["eventId", "eventType", "timestamp", "version", "data"])
                    #expect(r.key == event.key)
                    let key = try #require(r.key)
                    #expect(partitionOfKey[key, default: r.partition] == r.partition, "a key's events share a partition")
                    partitionOfKey[key] = r.partition
                    let n = (envelope["data"] as? [String: Any])?["n"] as? Int64 ?? Int64((envelope["data"] as? [String: Any])?["n"] as? Int ?? 0)
                    if let last = lastOfKey[key] { #expect(last.n < n, "key \(key): order \(n) after \(last.n)") }
                    lastOfKey[key] = (r.partition, r.offset, n)
                }
                #expect(lastOfKey.count == 10)
                #expect(Set(partitionOfKey.values).count > 1, "ten keys spread over partitions")
                let users = try broker.read(Topic.user.rawValue, count: 1)
                #expect(users.first?.value == String(decoding: welcome.envelope, as: UTF8.self) && users.first?.key == "u-3")
            }
        }
    }

    @Test func withoutTheBrokerThePositionStaysAndNothingIsLost() async throws {
        try await withScratchDatabase { url in
            try prepare(url)
            try await withPool(url) { client in
                _ = try await appendOrders(1...5, client)
                // A port nobody listens on: every delivery times out.
                let dead = try Socket.bind(FeedAddress(transport: .tcp, host: "127.0.0.1", port: 0)).boundAddress.port
                let consumers = EventConsumers(client: client, logger: Self.logger)
                var options = KafkaRelay.Options()
                options.deliveryTimeoutNanos = 1_000_000_000
                let relay = try KafkaRelay(client: client, brokers: ["127.0.0.1:\(dead)"], options: options, logger: Self.logger, appended: consumers.wakeups())
                let running = Task { try await relay.run() }
                try await waitUntil("the relay saw its lag", within: .seconds(30)) { relay.lag[.trading]!.load(ordering: .relaxed) == 5 }
                try await Task.sleep(for: .seconds(3))  // past the delivery timeout
                running.cancel()
                _ = await running.result
                #expect(try position(url, .trading) == 0)
                #expect(relay.relayed.load(ordering: .relaxed) == 0)
            }
        }
    }
}
