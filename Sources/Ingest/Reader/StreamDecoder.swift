/// A feed decoder with its codec hidden, so that one reader serves feeds of different formats.
/// The generic subclass is specialised per codec: the per-tick path has no dynamic dispatch.
class StreamDecoder {
    /// Decodes `bytes` and appends each tick to `sink`; each rejected frame is counted and
    /// reported to `onError`.
    func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64, into sink: TickBatcher, counters: FeedCounters,
                onError: (FrameError) -> Void) -> UInt64 { fatalError("abstract") }
    /// The stream ended: a partial frame still held counts as truncated.
    func finish(counters: FeedCounters, onError: (FrameError) -> Void) { fatalError("abstract") }
    /// Called on every turn of the reader's loop (at least every 100 ms): for timeouts. Returns
    /// the ticks it appended to `sink`.
    func idle(now: Int64, into sink: TickBatcher, counters: FeedCounters, onError: (FrameError) -> Void) -> UInt64 { 0 }

    static func make(_ format: FeedFormat, context: DecodeContext) -> StreamDecoder {
        switch format {
        case .binary: CodecStreamDecoder<BinaryFrameCodec>(context: context)
        case .jsonLines: CodecStreamDecoder<JSONLineCodec>(context: context)
        case .algolab: preconditionFailure("an algolab feed has its own source, not a socket reader")
        case .bistITCH: preconditionFailure("a bist-itch feed's decoder is made with its feed (BISTITCHStreamDecoder)")
        }
    }
}

final class CodecStreamDecoder<Codec: FeedCodec>: StreamDecoder {
    private var decoder: FeedDecoder<Codec>

    init(context: DecodeContext) { decoder = FeedDecoder(context: context) }

    override func decode(_ bytes: UnsafeRawBufferPointer, receiveTime: Int64, into sink: TickBatcher, counters: FeedCounters,
                         onError: (FrameError) -> Void) -> UInt64 {
        let before = decoder.stats.ticks
        decoder.decode(bytes, receiveTime: receiveTime, onError: { error in
            counters.countRejected(error.kind)
            onError(error)
        }, onTick: { sink.append($0) })
        return decoder.stats.ticks - before
    }

    override func finish(counters: FeedCounters, onError: (FrameError) -> Void) {
        decoder.finish { error in
            counters.countRejected(error.kind)
            onError(error)
        }
    }
}
