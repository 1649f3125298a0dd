import Fanout
import NIOCore
import Synchronization
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct FanoutClientTests {
    func texts(_ batch: [ByteBuffer]?) -> [String]? { batch?.map { String(buffer: $0) } }

    @Test func theWriterTakesEverythingQueuedInOrderAndWaitsForMore() async throws {
        let client = FanoutClient(id: 1, capacity: 8)
        for m in ["a", "b", "c"] { #expect(client.send(ByteBuffer(string: m))) }
        #expect(texts(await client.next()) == ["a", "b", "c"])
        // Nothing queued: the writer waits until a message comes.
        let waiting = Task { await client.next() }
        try await Task.sleep(for: .milliseconds(20))
        #expect(client.send(ByteBuffer(string: "d")))
        #expect(texts(try await value(of: waiting, within: .seconds(30), "the waiting writer")) == ["d"])
        // Closing ends the queue after what is already in it.
        client.send(ByteBuffer(string: "e"))
        client.close()
        #expect(!client.send(ByteBuffer(string: "f")), "nothing is queued after the close")
        #expect(texts(await client.next()) == ["e"])
        #expect(await client.next() == nil)
        #expect(!client.isSlow)
    }

    @Test func aFullQueueMakesTheClientSlowOnceAndDropsItsBacklog() async throws {
        let calls = Mutex(0)
        let client = FanoutClient(id: 2, capacity: 3) { calls.withLock { $0 += 1 } }
        for i in 0..<3 { #expect(client.send(ByteBuffer(string: "\(i)"))) }
        #expect(!client.send(ByteBuffer(string: "3")))
        #expect(!client.send(ByteBuffer(string: "4")))
        #expect(client.isSlow && calls.withLock { $0 } == 1)
        #expect(await client.next() == nil, "the backlog is not sent to a slow client")
    }

    @Test func closingWakesAWaitingWriter() async throws {
        let client = FanoutClient(id: 3, capacity: 8)
        let waiting = Task { await client.next() }
        try await Task.sleep(for: .milliseconds(20))
        client.close()
        #expect(try await value(of: waiting, within: .seconds(30), "the waiting writer") == nil)
    }
}
