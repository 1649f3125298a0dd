@testable import Fanout
import NIOCore
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct FanoutClientTests {
    func texts(_ take: FanoutClient.Take) -> [String]? { take.messages?.map { String(buffer: $0) } }
    func isIdle(_ take: FanoutClient.Take) -> Bool { take.isIdle }
    func isEnded(_ take: FanoutClient.Take) -> Bool { take.isEnded }

    @Test func theWriterIsWokenOnceAndTakesEverythingQueuedInOrder() {
        let wakes = Mutex(0)
        let client = FanoutClient(id: 1, capacity: 8, onReady: { wakes.withLock { $0 += 1 } })
        for m in ["a", "b", "c"] { #expect(client.send(ByteBuffer(string: m))) }
        #expect(wakes.withLock { $0 } == 1, "one wake for a burst: the writer is already due")
        #expect(texts(client.take()) == ["a", "b", "c"])
        // Still draining: a message now needs no wake, the writer takes again.
        #expect(client.send(ByteBuffer(string: "d")))
        #expect(wakes.withLock { $0 } == 1)
        #expect(texts(client.take()) == ["d"])
        #expect(isIdle(client.take()))
        // Idle: the next message wakes the writer again.
        #expect(client.send(ByteBuffer(string: "e")))
        #expect(wakes.withLock { $0 } == 2)
        // Closing ends the queue after what is already in it.
        client.close()
        #expect(!client.send(ByteBuffer(string: "f")), "nothing is queued after the close")
        #expect(texts(client.take()) == ["e"])
        #expect(isEnded(client.take()))
        #expect(isEnded(client.take()), "ended stays ended")
        #expect(!client.isSlow)
    }

    @Test func aMessageLongerThanAFrameIsQueuedAsSeveral() {
        let long = String(repeating: "x", count: MarketDataSocket.frameBytes * 2 + 5)
        let client = FanoutClient(id: 5, capacity: 8)
        client.send(ByteBuffer(string: "a"))
        client.send(ByteBuffer(string: long))
        client.send(ByteBuffer(string: "b"))
        #expect(texts(client.take()) == ["a", long, "b"])
    }

    @Test func aFullQueueMakesTheClientSlowOnceAndDropsItsBacklog() {
        let calls = Mutex(0)
        let client = FanoutClient(id: 2, capacity: 3, onSlow: { calls.withLock { $0 += 1 } })
        for i in 0..<3 { #expect(client.send(ByteBuffer(string: "\(i)"))) }
        #expect(!client.send(ByteBuffer(string: "3")))
        #expect(!client.send(ByteBuffer(string: "4")))
        #expect(client.isSlow && calls.withLock { $0 } == 1)
        #expect(isEnded(client.take()), "the backlog is not sent to a slow client")
    }

    @Test func closingOrCuttingOffAnIdleQueueWakesTheWriter() {
        let wakes = Mutex(0)
        let closed = FanoutClient(id: 3, capacity: 8, onReady: { wakes.withLock { $0 += 1 } })
        #expect(isIdle(closed.take()))
        closed.close()
        #expect(wakes.withLock { $0 } == 1)
        #expect(isEnded(closed.take()))

        let slowCalls = Mutex(0)
        let cut = FanoutClient(id: 4, capacity: 8, onSlow: { slowCalls.withLock { $0 += 1 } }, onReady: { wakes.withLock { $0 += 1 } })
        cut.send(ByteBuffer(string: "x"))
        #expect(wakes.withLock { $0 } == 2)
        cut.cutOff()
        cut.cutOff()
        #expect(wakes.withLock { $0 } == 2, "the writer was due already")
        #expect(slowCalls.withLock { $0 } == 1 && cut.isSlow)
        #expect(isEnded(cut.take()))
    }
}
