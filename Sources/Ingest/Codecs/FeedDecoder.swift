/// Counts of what a decoder has seen.
public struct DecodeStats: Sendable, Equatable {
    public var ticks: UInt64 = 0
    public var bytes: UInt64 = 0
    public private(set) var rejectedByKind = [UInt64](repeating: 0, count: FrameErrorKind.allCases.count)

    public init() {}

    public var rejected: UInt64 { rejectedByKind.reduce(0, +) }
    public subscript(kind: FrameErrorKind) -> UInt64 { rejectedByKind[kind.rawValue] }

    mutating func count(_ error: FrameError) { rejectedByKind[error.kind.rawValue] += 1 }

    public static func += (a: inout DecodeStats, b: DecodeStats) {
        a.ticks += b.ticks
        a.bytes += b.bytes
        for i in a.rejectedByKind.indices { a.rejectedByKind[i] += b.rejectedByKind[i] }
    }
}

/// Turns a byte stream (reads of any size, frames split anywhere) into ticks.
///
/// Frames are decoded in place from each chunk; only a frame split across two chunks is copied
/// (at most one maximum-size frame). A rejected frame is counted, reported to `onError`, and the
/// decoder resynchronises and goes on.
public struct FeedDecoder<Codec: FeedCodec> {
    public var context: DecodeContext
    public private(set) var stats = DecodeStats()
    private var carry: [UInt8] = []
    private var discardingLine = false

    public init(context: DecodeContext) {
        self.context = context
        carry.reserveCapacity(context.maximumFrameBytes + 1)
    }

    /// Bytes of an incomplete frame held over for the next chunk.
    public var pendingBytes: Int { carry.count }

    /// Decodes every complete frame in `chunk` (after any partial frame held from earlier chunks).
    public mutating func decode(
        _ chunk: UnsafeRawBufferPointer, receiveTime: Int64,
        onError: (FrameError) -> Void = { _ in }, onTick: (Tick) -> Void
    ) {
        stats.bytes += UInt64(chunk.count)
        var input = chunk
        if discardingLine {
            guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else { return }
            input = UnsafeRawBufferPointer(rebasing: input[(newline + 1)...])
            discardingLine = false
        }
        if !carry.isEmpty {
            // Complete the held frame with just enough new bytes (never more than one max frame).
            let held = carry.count
            let take = min(input.count, max(0, context.maximumFrameBytes + 1 - held))
            carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take]))
            var stepped = 0
            var ended = false
            carry.withUnsafeBytes { buffer in
                while stepped < held && !ended {
                    let rest = UnsafeRawBufferPointer(rebasing: buffer[stepped...])
                    guard let n = step(rest, receiveTime: receiveTime, onError: onError, onTick: onTick) else { ended = true; break }
                    stepped += n
                }
            }
            if discardingLine {
                carry.removeAll(keepingCapacity: true)
                if take < input.count { decode(rest: UnsafeRawBufferPointer(rebasing: input[take...]), receiveTime: receiveTime, onError: onError, onTick: onTick) }
                return
            }
            if stepped < held {
                // Still incomplete: everything new is now in `carry`.
                carry.removeFirst(stepped)
                return
            }
            carry.removeAll(keepingCapacity: true)
            input = UnsafeRawBufferPointer(rebasing: input[min(stepped - held, input.count)...])
        }
        decode(rest: input, receiveTime: receiveTime, onError: onError, onTick: onTick)
    }

    private mutating func decode(
        rest input: UnsafeRawBufferPointer, receiveTime: Int64, onError: (FrameError) -> Void, onTick: (Tick) -> Void
    ) {
        var offset = 0
        while offset < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
            guard let n = step(rest, receiveTime: receiveTime, onError: onError, onTick: onTick) else {
                if discardingLine { return }
                carry.append(contentsOf: rest)
                return
            }
            offset += n
        }
    }

    /// Decodes one frame at the start of `bytes`; returns the bytes consumed, or `nil` when the
    /// frame is incomplete (or the rest of the chunk is being discarded).
    @inline(__always)
    private mutating func step(
        _ bytes: UnsafeRawBufferPointer, receiveTime: Int64, onError: (FrameError) -> Void, onTick: (Tick) -> Void
    ) -> Int? {
        switch Codec.decode(bytes, receiveTime: receiveTime, context: context) {
        case .tick(let tick, let consumed):
            stats.ticks += 1
            onTick(tick)
            return consumed
        case .skip(let n):
            return n
        case .needMore:
            return nil
        case .invalid(let error, let skip):
            stats.count(error)
            onError(error)
            return skip
        case .invalidThroughNextNewline(let error):
            stats.count(error)
            onError(error)
            discardingLine = true
            return nil
        }
    }

    /// The stream has ended: a partial frame still held is reported as truncated and dropped.
    public mutating func finish(onError: (FrameError) -> Void = { _ in }) {
        discardingLine = false
        guard !carry.isEmpty else { return }
        let error = FrameError.truncated(available: carry.count)
        stats.count(error)
        onError(error)
        carry.removeAll(keepingCapacity: true)
    }
}
