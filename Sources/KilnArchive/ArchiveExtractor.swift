import CArchive
import Foundation

/// Unpacks a tar (plain, zstd, gzip) or zip archive into a directory, refusing
/// any entry that would land outside it.
///
/// Refused before anything of the entry is written: absolute paths, `..`
/// components, symbolic links whose target leaves the directory, hard links
/// to paths outside it, writes through a symbolic link, and device or fifo
/// entries. The first refused entry stops the extraction with an
/// ``ArchiveError`` of code `.unsafeEntry` that names it. Blocks on I/O.
public struct ArchiveExtractor: Sendable {
    /// What an extraction wrote.
    public struct Summary: Sendable, Equatable {
        public var entries: Int
        public var bytes: Int64
    }

    /// Most entries an archive may have; past it extraction stops.
    public var maxEntries: Int
    /// Most bytes its files may unpack to (a zip bomb stops here).
    public var maxBytes: Int64

    public init(maxEntries: Int = 500_000, maxBytes: Int64 = 8 << 30) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// Unpacks the archive at `archive` into `destination`, which must exist.
    public func extract(archive: URL, into destination: URL) throws -> Summary {
        guard let reader = archive_read_new() else { throw ArchiveError(.openFailed, "libarchive could not allocate a reader") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_tar(reader)
        archive_read_support_format_zip(reader)
        guard FileManager.default.isReadableFile(atPath: archive.path) else {
            throw ArchiveError(.openFailed, "cannot read \(archive.path)")
        }
        guard archive_read_open_filename(reader, archive.path, 1 << 16) == ARCHIVE_OK else {
            throw ArchiveError(.malformed, "cannot open \(archive.lastPathComponent): \(ArchiveWriter.message(of: reader))")
        }
        guard let disk = archive_write_disk_new() else { throw ArchiveError(.writeFailed, "libarchive could not allocate a disk writer") }
        defer { archive_write_free(disk) }
        // Entry paths are checked here and then made absolute under the
        // destination, so libarchive's own absolute-path guard cannot apply;
        // its guards against `..` and writing through links still do.
        archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT)

        let root = destination.standardizedFileURL.path
        var summary = Summary(entries: 0, bytes: 0)
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else {
                throw ArchiveError(.malformed, "\(archive.lastPathComponent) is not a readable archive: \(ArchiveWriter.message(of: reader))")
            }
            let rawPath = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard summary.entries < maxEntries else {
                throw ArchiveError(.tooLarge, "\(archive.lastPathComponent) has more than \(maxEntries) entries (stopped at \(rawPath))")
            }
            let path = try Self.safeRelativePath(rawPath)
            if path.isEmpty { continue } // the archive's own "./"

            let type = Int32(archive_entry_filetype(entry))
            // A hard link carries its target instead of a type (tar gives it none).
            let hardlink = archive_entry_hardlink(entry).map { String(cString: $0) }
            if let hardlink {
                let target: String
                do {
                    target = try Self.safeRelativePath(hardlink)
                } catch {
                    throw ArchiveError(.unsafeEntry, "archive entry \(rawPath) is a hard link to \(hardlink), outside the app directory")
                }
                archive_entry_set_hardlink(entry, root + "/" + target)
            } else {
                switch type {
                case Int32(FileType.regular), Int32(FileType.directory):
                    break
                case Int32(FileType.symlink):
                    let target = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                    try Self.checkSymlink(path: path, target: target)
                default:
                    throw ArchiveError(.unsafeEntry, "archive entry \(rawPath) is a device, fifo or socket; only files, directories and links are accepted")
                }
            }
            archive_entry_set_pathname(entry, root + "/" + path)
            // No set-uid, set-gid or sticky bits from someone else's archive.
            archive_entry_set_perm(entry, archive_entry_perm(entry) & 0o777)

            guard archive_write_header(disk, entry) >= ARCHIVE_WARN else {
                throw ArchiveError(.unsafeEntry, "archive entry \(rawPath) cannot be written: \(ArchiveWriter.message(of: disk))")
            }
            if type == Int32(FileType.regular) {
                summary.bytes += try copyData(from: reader, to: disk, entry: rawPath, budget: maxBytes - summary.bytes)
            }
            guard archive_write_finish_entry(disk) >= ARCHIVE_WARN else {
                throw ArchiveError(.writeFailed, "cannot finish \(rawPath): \(ArchiveWriter.message(of: disk))")
            }
            summary.entries += 1
        }
        return summary
    }

    private func copyData(from reader: OpaquePointer, to disk: OpaquePointer, entry: String, budget: Int64) throws -> Int64 {
        var total: Int64 = 0
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let status = archive_read_data_block(reader, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return total }
            guard status >= ARCHIVE_WARN else {
                throw ArchiveError(.malformed, "archive entry \(entry) is truncated or corrupt: \(ArchiveWriter.message(of: reader))")
            }
            guard archive_write_data_block(disk, buffer, size, offset) >= ARCHIVE_WARN else {
                throw ArchiveError(.writeFailed, "cannot write \(entry): \(ArchiveWriter.message(of: disk))")
            }
            total += Int64(size)
            guard total <= budget else {
                throw ArchiveError(.tooLarge, "the archive unpacks to more than \(maxBytes) bytes (stopped in \(entry))")
            }
        }
    }

    /// Normalises an entry path and refuses one that is absolute or climbs out with `..`.
    static func safeRelativePath(_ raw: String) throws -> String {
        if raw.hasPrefix("/") {
            throw ArchiveError(.unsafeEntry, "archive entry \(raw) has an absolute path; entries must be relative to the app directory")
        }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                throw ArchiveError(.unsafeEntry, "archive entry \(raw) contains '..'; entries must stay inside the app directory")
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Refuses a symbolic link whose target, resolved from the link's directory, leaves the root.
    static func checkSymlink(path: String, target: String) throws {
        if target.hasPrefix("/") {
            throw ArchiveError(.unsafeEntry, "archive entry \(path) is a symbolic link to the absolute path \(target); links must stay inside the app directory")
        }
        var depth = path.split(separator: "/").count - 1
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": depth -= 1
            default: depth += 1
            }
            if depth < 0 {
                throw ArchiveError(.unsafeEntry, "archive entry \(path) is a symbolic link to \(target), outside the app directory")
            }
        }
    }
}
