import CZstd

/// One-shot zstd compression of whole blocks, with content checksums on.
package struct ZstdCompressor: ~Copyable {
    private let context: OpaquePointer

    package init(level: Int32 = 3) {
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into `output` (resized as needed) and returns the compressed size.
    package func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Int {
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let n = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count)
        }
        precondition(ZSTD_isError(n) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(n)))")
        return n
    }
}

package struct ZstdDecompressor: ~Copyable {
    private let context: OpaquePointer

    package init() { context = ZSTD_createDCtx() }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame that must expand to exactly `expectedSize` bytes; returns an error
    /// message on any mismatch or checksum failure.
    package func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int, into output: inout [UInt8]) -> String? {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if declared == ZSTD_CONTENTSIZE_ERROR { return "not a zstd frame" }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(expectedSize) {
            return "zstd frame holds \(declared) bytes, block header says \(expectedSize)"
        }
        if output.count < expectedSize { output = [UInt8](repeating: 0, count: expectedSize) }
        let n = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(context, out.baseAddress, expectedSize, input.baseAddress, input.count)
        }
        if ZSTD_isError(n) != 0 { return "zstd: \(String(cString: ZSTD_getErrorName(n)))" }
        if n != expectedSize { return "block expanded to \(n) bytes, header says \(expectedSize)" }
        return nil
    }
}
