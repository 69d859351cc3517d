import CArchive
import Foundation

/// Writes a tar stream, compressed or not, to a sink in chunks.
///
/// Every entry gets the numeric owner it names (0:0 unless it says otherwise),
/// no user or group names and a fixed mtime, so
/// that the same entries in the same order always give the same bytes: the
/// property slugs and source archives rely on to be content-addressed.
/// The writer blocks on I/O; call it from a thread that may block.
public final class ArchiveWriter {
    /// Receives the archive's bytes as libarchive produces them.
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    private let handle: OpaquePointer
    private let box: SinkBox
    /// zstd runs outside libarchive, on whole blocks (see ``ZstdWriter``).
    private let zstd: ZstdWriter?
    private var closed = false
    /// The modification time stamped on every entry.
    public let mtime: Int

    /// Opens a writer.
    /// - Parameters:
    ///   - compression: the filter wrapped around the tar stream.
    ///   - level: compression level (zstd 1...19, gzip 1...9); `nil` for the library's default.
    ///   - mtime: seconds since the epoch stamped on every entry.
    ///   - raw: no tar: one entry's data compressed as is (to re-compress a stream, e.g. a tar read with ``CompressedStream``).
    ///   - sink: called with each block of output; an error it throws aborts the write.
    public init(compression: ArchiveCompression, level: Int? = nil, mtime: Int = 0, raw: Bool = false, sink: @escaping Sink) throws {
        // zstd's multi-threaded mode, on every core; the same bytes for any number of threads.
        let zstd = compression == .zstd ? try ZstdWriter(level: level ?? 3, threads: ProcessInfo.processInfo.activeProcessorCount, sink: sink) : nil
        guard let handle = archive_write_new() else {
            throw ArchiveError(.writeFailed, "libarchive could not allocate a writer")
        }
        self.handle = handle
        self.mtime = mtime
        self.zstd = zstd
        self.box = zstd.map { zstd in SinkBox { try zstd.write($0) } } ?? SinkBox(sink)
        // pax_restricted writes plain ustar headers and adds pax records only
        // where ustar cannot express an entry (long paths): no pids, no atimes.
        if raw {
            archive_write_set_format_raw(handle)
        } else {
            archive_write_set_format_pax_restricted(handle)
        }
        switch compression {
        case .zstd:
            archive_write_add_filter_none(handle)
        case .gzip:
            archive_write_add_filter_gzip(handle)
            // No timestamp in the gzip header, or the same tree would not give the same bytes.
            archive_write_set_filter_option(handle, "gzip", "timestamp", nil)
            if let level { archive_write_set_filter_option(handle, "gzip", "compression-level", "\(level)") }
        case .none:
            archive_write_add_filter_none(handle)
        }
        // One output block per 64 KiB: larger writes for the sink, no padding of the last block.
        archive_write_set_bytes_per_block(handle, 65536)
        archive_write_set_bytes_in_last_block(handle, 1)
        let opaque = Unmanaged.passUnretained(box).toOpaque()
        let status = archive_write_open(handle, opaque, nil, { archive, context, buffer, length in
            guard let context, let buffer else { return -1 }
            let box = Unmanaged<SinkBox>.fromOpaque(context).takeUnretainedValue()
            do {
                try box.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                box.error = error
                return -1
            }
        }, nil)
        guard status == ARCHIVE_OK else {
            let message = Self.message(of: handle)
            archive_write_free(handle)
            throw ArchiveError(.writeFailed, "cannot start the archive: \(message)")
        }
    }

    deinit {
        if !closed { archive_write_close(handle) }
        archive_write_free(handle)
    }

    /// Writes an entry's header. For a file, follow with `writeData` calls
    /// adding up to exactly `entry.size` bytes.
    public func writeHeader(_ entry: ArchiveEntry) throws {
        guard let e = archive_entry_new() else { throw ArchiveError(.writeFailed, "libarchive could not allocate an entry") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, entry.path)
        switch entry.kind {
        case .file:
            archive_entry_set_filetype(e, FileType.regular)
            archive_entry_set_size(e, entry.size)
        case .directory:
            archive_entry_set_filetype(e, FileType.directory)
            archive_entry_set_size(e, 0)
        case .symlink(let target):
            archive_entry_set_filetype(e, FileType.symlink)
            archive_entry_set_symlink(e, target)
            archive_entry_set_size(e, 0)
        }
        archive_entry_set_perm(e, entry.permissions & 0o7777)
        archive_entry_set_uid(e, Int64(entry.uid))
        archive_entry_set_gid(e, Int64(entry.gid))
        archive_entry_set_mtime(e, mtime, 0)
        try check(archive_write_header(handle, e), "cannot write the header of \(entry.path)")
    }

    /// Writes file content for the entry whose header was written last.
    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        let written = archive_write_data(handle, base, bytes.count)
        if written < 0 { try check(Int32(written), "cannot write entry data") }
    }

    /// Writes a whole entry whose content is in memory.
    public func write(_ entry: ArchiveEntry, contents: some ContiguousBytes) throws {
        try contents.withUnsafeBytes { bytes in
            var entry = entry
            entry.size = Int64(bytes.count)
            try writeHeader(entry)
            try writeData(bytes)
        }
    }

    /// Flushes the compressor and the last block. The writer cannot be used afterwards.
    public func finish() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(handle), "cannot finish the archive")
        try zstd?.finish()
    }

    private func check(_ status: Int32, _ what: String) throws {
        if let error = box.error { throw error }
        guard status >= ARCHIVE_WARN else {
            throw ArchiveError(.writeFailed, "\(what): \(Self.message(of: handle))")
        }
    }

    static func message(of handle: OpaquePointer) -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}

/// Holds the sink and its first error for the C write callback.
private final class SinkBox {
    let sink: ArchiveWriter.Sink
    var error: (any Error)?
    init(_ sink: @escaping ArchiveWriter.Sink) { self.sink = sink }
}
