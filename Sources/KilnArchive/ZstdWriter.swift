import CZstd

/// zstd compression with libzstd's streaming API, in its multi-threaded mode.
///
/// libarchive's own zstd filter calls the compressor once per header and per
/// file chunk; tens of thousands of small calls, each taking the worker
/// pool's locks, cost a slug of small files a sixth of its packing time.
/// Fed whole 64 KiB tar blocks instead, it keeps pace with `zstd -T0`.
/// The multi-threaded mode writes the same bytes for any number of workers,
/// so a slug's digest does not depend on the host's cores.
final class ZstdWriter {
    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    private let sink: ArchiveWriter.Sink

    init(level: Int, threads: Int, sink: @escaping ArchiveWriter.Sink) throws {
        guard let context = ZSTD_createCCtx() else { throw ArchiveError(.writeFailed, "libzstd could not allocate a compressor") }
        self.context = context
        self.sink = sink
        output = .allocate(byteCount: ZSTD_CStreamOutSize() * 4, alignment: 16)
        for (parameter, value) in [(ZSTD_c_compressionLevel, level), (ZSTD_c_nbWorkers, max(1, threads))] {
            let result = ZSTD_CCtx_setParameter(context, parameter, Int32(value))
            guard ZSTD_isError(result) == 0 else {
                ZSTD_freeCCtx(context)
                output.deallocate()
                throw ArchiveError(.writeFailed, "libzstd refused a parameter: \(String(cString: ZSTD_getErrorName(result)))")
            }
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    /// Compresses `bytes`, handing finished output to the sink.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    /// Flushes everything and ends the frame.
    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }

    /// One call to the compressor; returns what it says remains to flush.
    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        guard ZSTD_isError(remaining) == 0 else {
            throw ArchiveError(.writeFailed, "zstd compression failed: \(String(cString: ZSTD_getErrorName(remaining)))")
        }
        if out.pos > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<out.pos])) }
        return remaining
    }
}
