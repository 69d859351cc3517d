import CArchive
import Foundation

/// A compressed file (zstd, gzip, or none) read as the bytes it holds, in
/// one pass and in chunks: a slug's tar stream without unpacking it.
public enum CompressedStream {
    /// Hands the decompressed bytes of `file` to `body`, 64 KiB at a time. Blocks on I/O.
    public static func read(_ file: URL, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let reader = archive_read_new() else { throw ArchiveError(.openFailed, "libarchive could not allocate a reader") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_raw(reader)
        guard archive_read_open_filename(reader, file.path, 1 << 16) == ARCHIVE_OK else {
            throw ArchiveError(.openFailed, "cannot open \(file.lastPathComponent): \(ArchiveWriter.message(of: reader))")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(reader, &entry) == ARCHIVE_OK else {
            throw ArchiveError(.malformed, "\(file.lastPathComponent) cannot be read: \(ArchiveWriter.message(of: reader))")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if count == 0 { return }
            guard count > 0 else {
                throw ArchiveError(.malformed, "\(file.lastPathComponent) is truncated or corrupt: \(ArchiveWriter.message(of: reader))")
            }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
    }
}
