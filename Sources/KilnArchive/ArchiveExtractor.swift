import CArchive
import Foundation

/// Unpacks a tar (plain, zstd, gzip) or zip archive into a directory, refusing
/// any entry that would land outside it or reach outside it.
///
/// Refused before anything of the entry is written: absolute paths, `..`
/// components, paths past the length and depth limits, symbolic links whose
/// target leaves the directory once the links already in the tree are
/// followed (a chain of links counts, a loop is refused), hard links to
/// anything but a regular file extracted earlier from the same archive, files
/// whose declared (apparent) size is past the byte budget, writes through a
/// symbolic link, and device or fifo entries. Because a link extracted later
/// can change where an earlier one leads, every link is resolved again once
/// the last entry is written; one that now leaves the directory is removed
/// and the extraction fails, whatever the order of the entries.
///
/// The first refused entry stops the extraction with an ``ArchiveError`` that
/// names it: code `.unsafeEntry` for an entry that would escape, `.tooLarge`
/// for a limit. What was written before stays; nothing outside the directory
/// is touched. Blocks on I/O.
public struct ArchiveExtractor: Sendable {
    /// What an extraction wrote.
    public struct Summary: Sendable, Equatable {
        public var entries: Int
        /// The files' apparent sizes added up (a sparse file counts at its full size).
        public var bytes: Int64
    }

    /// Most entries an archive may have; past it extraction stops.
    public var maxEntries: Int
    /// Most bytes its files may unpack to (a zip bomb, or a sparse file with a huge hole, stops here).
    public var maxBytes: Int64
    /// Longest entry path, in bytes (Linux's PATH_MAX).
    public var maxPathBytes: Int
    /// Longest component of an entry path, in bytes (Linux's NAME_MAX).
    public var maxComponentBytes: Int
    /// Most components an entry path may have.
    public var maxDepth: Int

    /// Takes an entry path that starts with `/` as relative to the
    /// directory (an image layer's `/cnb/buildpacks/…`, as some tools write
    /// them) instead of refusing it. Links keep their rules either way.
    public var rootedPathsAreRelative = false

    public init(maxEntries: Int = 500_000, maxBytes: Int64 = 8 << 30, maxPathBytes: Int = 4096, maxComponentBytes: Int = 255, maxDepth: Int = 128) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.maxPathBytes = maxPathBytes
        self.maxComponentBytes = maxComponentBytes
        self.maxDepth = maxDepth
    }

    /// What an entry already written made of its path, for the checks of the entries after it.
    private enum Written {
        case file, directory, symlink
    }

    /// Unpacks the archive at `archive` into `destination`, which must exist.
    /// - Throws: ``ArchiveError`` naming the archive or the refused entry.
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
        // its guards against `..` and writing through links still do. The
        // link checks below rely on SECURE_SYMLINKS: no entry is ever written
        // beneath a link, so only links themselves need resolving.
        archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT)

        let root = destination.standardizedFileURL.path
        var summary = Summary(entries: 0, bytes: 0)
        var written: [String: Written] = [:]
        var links: [String] = []
        // What is left of the tree must not reach outside even when an entry
        // fails half way: the links written so far are checked on every way out.
        func finalLinks() -> [String] {
            var seen = Set<String>()
            return links.filter { written[$0] == .symlink && seen.insert($0).inserted }
        }
        do {
            try unpack(reader: reader, disk: disk, archive: archive, root: root, summary: &summary, written: &written, links: &links)
        } catch {
            try? recheckLinks(finalLinks(), root: root)
            throw error
        }
        try recheckLinks(finalLinks(), root: root)
        return summary
    }

    /// Reads every entry and writes those that pass the checks, recording
    /// what each path became and which are links.
    private func unpack(reader: OpaquePointer, disk: OpaquePointer, archive: URL, root: String,
                        summary: inout Summary, written: inout [String: Written], links: inout [String]) throws {
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry else {
                throw ArchiveError(.malformed, "\(archive.lastPathComponent) is not a readable archive: \(ArchiveWriter.message(of: reader))")
            }
            let rawPath = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard summary.entries < maxEntries else {
                throw ArchiveError(.tooLarge, "\(archive.lastPathComponent) has more than \(maxEntries) entries (stopped at \(Self.describe(rawPath)))")
            }
            let path = try Self.safeRelativePath(rootedPathsAreRelative ? String(rawPath.drop { $0 == "/" }) : rawPath)
            if path.isEmpty { continue } // the archive's own "./"
            try checkLimits(path: path, raw: rawPath)

            let type = Int32(archive_entry_filetype(entry))
            let kind: Written
            // A hard link carries its target instead of a type (tar gives it none).
            if let hardlink = archive_entry_hardlink(entry).map({ String(cString: $0) }) {
                let target = try Self.checkHardlink(path: path, raw: rawPath, target: hardlink, written: written)
                archive_entry_set_hardlink(entry, root + "/" + target)
                kind = .file
            } else {
                switch type {
                case Int32(FileType.regular):
                    kind = .file
                case Int32(FileType.directory):
                    kind = .directory
                case Int32(FileType.symlink):
                    let target = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                    var disk = DiskLinks(root: root)
                    try checkSymlink(path: path, target: target) { candidate in
                        candidate == path ? target : disk.target(of: candidate)
                    }
                    kind = .symlink
                default:
                    throw ArchiveError(.unsafeEntry, "archive entry \(Self.describe(rawPath)) is a device, fifo or socket; only files, directories and links are accepted")
                }
            }
            // A sparse file's data blocks are only what is not a hole; what it
            // takes on disk, and what the build will read, is its declared size.
            var declared: Int64 = 0
            if kind == .file, archive_entry_size_is_set(entry) != 0 {
                declared = archive_entry_size(entry)
                guard declared >= 0 else {
                    throw ArchiveError(.malformed, "archive entry \(Self.describe(rawPath)) declares a negative size (\(declared) bytes)")
                }
                guard declared <= maxBytes - summary.bytes else {
                    throw ArchiveError(.tooLarge, "archive entry \(Self.describe(rawPath)) is a file of \(declared) bytes (its apparent size, holes included); the archive unpacks to more than \(maxBytes) bytes (stopped in \(Self.describe(rawPath)))")
                }
            }
            archive_entry_set_pathname(entry, root + "/" + path)
            // No set-uid, set-gid or sticky bits from someone else's archive.
            archive_entry_set_perm(entry, archive_entry_perm(entry) & 0o777)

            guard archive_write_header(disk, entry) >= ARCHIVE_WARN else {
                throw ArchiveError(.unsafeEntry, "archive entry \(Self.describe(rawPath)) cannot be written: \(ArchiveWriter.message(of: disk))")
            }
            // A later entry at the same path replaces what was there (libarchive
            // unlinks the old one), so only the newest kind counts.
            written[path] = kind
            if kind == .symlink { links.append(path) }
            if kind == .file {
                summary.bytes += try copyData(from: reader, to: disk, entry: rawPath, declared: declared, budget: maxBytes - summary.bytes)
            }
            guard archive_write_finish_entry(disk) >= ARCHIVE_WARN else {
                throw ArchiveError(.writeFailed, "cannot finish \(Self.describe(rawPath)): \(ArchiveWriter.message(of: disk))")
            }
            summary.entries += 1
        }
        guard archive_write_close(disk) == ARCHIVE_OK else {
            throw ArchiveError(.writeFailed, "cannot finish unpacking \(archive.lastPathComponent): \(ArchiveWriter.message(of: disk))")
        }
    }

    /// Copies an entry's data and returns its apparent size: the declared
    /// size, or the end of its last block if that is further.
    private func copyData(from reader: OpaquePointer, to disk: OpaquePointer, entry: String, declared: Int64, budget: Int64) throws -> Int64 {
        var apparent = declared
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let status = archive_read_data_block(reader, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return apparent }
            guard status >= ARCHIVE_WARN else {
                throw ArchiveError(.malformed, "archive entry \(Self.describe(entry)) is truncated or corrupt: \(ArchiveWriter.message(of: reader))")
            }
            // Checked before the write: a block far past the end would leave a file that long.
            let (end, overflow) = offset.addingReportingOverflow(Int64(size))
            guard offset >= 0, !overflow else {
                throw ArchiveError(.malformed, "archive entry \(Self.describe(entry)) has a data block at offset \(offset), outside any file")
            }
            apparent = max(apparent, end)
            guard apparent <= budget else {
                throw ArchiveError(.tooLarge, "the archive unpacks to more than \(maxBytes) bytes (stopped in \(Self.describe(entry)))")
            }
            guard archive_write_data_block(disk, buffer, size, offset) >= ARCHIVE_WARN else {
                throw ArchiveError(.writeFailed, "cannot write \(Self.describe(entry)): \(ArchiveWriter.message(of: disk))")
            }
        }
    }

    /// Refuses a path (already normalised) past the length or depth limits.
    private func checkLimits(path: String, raw: String) throws {
        let bytes = raw.utf8.count
        if bytes > maxPathBytes {
            throw ArchiveError(.tooLarge, "archive entry \(Self.describe(raw)) has a path of \(bytes) bytes; paths may be at most \(maxPathBytes) bytes: refused")
        }
        let components = LinkResolver.components(path)
        if components.count > maxDepth {
            throw ArchiveError(.tooLarge, "archive entry \(Self.describe(raw)) is \(components.count) components deep; paths may have at most \(maxDepth): refused")
        }
        if let long = components.first(where: { $0.utf8.count > maxComponentBytes }) {
            throw ArchiveError(.tooLarge, "archive entry \(Self.describe(raw)) has a name of \(long.utf8.count) bytes (\(Self.describe(String(long)))); names may be at most \(maxComponentBytes) bytes: refused")
        }
    }

    /// Normalises an entry path and refuses one that is absolute or climbs out with `..`.
    static func safeRelativePath(_ raw: String) throws -> String {
        if raw.hasPrefix("/") {
            throw ArchiveError(.unsafeEntry, "archive entry \(describe(raw)) has an absolute path; entries must be relative to the app directory")
        }
        var parts: [Substring] = []
        for part in LinkResolver.components(raw) {
            switch part {
            case ".": continue
            case "..":
                throw ArchiveError(.unsafeEntry, "archive entry \(describe(raw)) contains '..'; entries must stay inside the app directory")
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Returns the normalised target of a hard link, refusing one that is not
    /// a regular file an earlier entry wrote: a link to a directory, to a
    /// symbolic link or to a path not yet extracted could be made to name
    /// something outside the directory, or to change under a later entry.
    private static func checkHardlink(path: String, raw: String, target rawTarget: String, written: [String: Written]) throws -> String {
        let target: String
        do {
            target = try safeRelativePath(rawTarget)
        } catch {
            throw ArchiveError(.unsafeEntry, "archive entry \(describe(raw)) is a hard link to \(describe(rawTarget)), outside the app directory: refused")
        }
        let reason: String
        switch written[target] {
        case .file:
            // libarchive unlinks the entry's path before linking: the file would be lost.
            guard target != path else {
                throw ArchiveError(.unsafeEntry, "archive entry \(describe(raw)) is a hard link to itself: refused")
            }
            return target
        case .directory: reason = "a directory"
        case .symlink: reason = "a symbolic link"
        case nil: reason = "not an earlier entry of the archive"
        }
        throw ArchiveError(.unsafeEntry, "archive entry \(describe(raw)) is a hard link to \(describe(rawTarget)), which is \(reason); hard links may only name a regular file extracted before them: refused")
    }

    /// Refuses a symbolic link whose target, followed through the links
    /// `targetOf` knows, leaves the root or loops.
    private func checkSymlink(path: String, target: String, targetOf: (String) -> String?) throws {
        if target.hasPrefix("/") {
            throw ArchiveError(.unsafeEntry, "archive entry \(Self.describe(path)) is a symbolic link to the absolute path \(Self.describe(target)); links must stay inside the app directory: refused")
        }
        if target.utf8.count > maxPathBytes {
            throw ArchiveError(.tooLarge, "archive entry \(Self.describe(path)) is a symbolic link to a target of \(target.utf8.count) bytes; targets may be at most \(maxPathBytes) bytes: refused")
        }
        if let reason = Self.refusal(of: LinkResolver.resolve(link: path, target: target, targetOf: targetOf)) {
            throw ArchiveError(.unsafeEntry, "archive entry \(Self.describe(path)) is a symbolic link to \(Self.describe(target)), \(reason): refused")
        }
    }

    /// Why a resolution is refused, or `nil` if it stays inside.
    private static func refusal(of outcome: LinkResolver.Outcome) -> String? {
        func links(_ paths: [String]) -> String {
            (paths.count == 1 ? "the link " : "the links ") + paths.map(describe).joined(separator: ", ")
        }
        switch outcome {
        case .inside:
            return nil
        case .outside(let through) where through.isEmpty:
            return "which resolves outside the app directory"
        case .outside(let through):
            return "which resolves outside the app directory (through \(links(through)))"
        case .loop(let through):
            return "which never resolves: it follows more than \(LinkResolver.maxFollows) links (a loop through \(links(through)))"
        }
    }

    /// Resolves every link again against the finished tree: an entry after a
    /// link can change where it leads (`x -> a/b/../..` is harmless until
    /// `a/b -> ..` arrives). A link that now escapes is removed and the
    /// extraction fails naming it.
    private func recheckLinks(_ links: [String], root: String) throws {
        var refused: [(path: String, error: ArchiveError)] = []
        for path in links {
            guard let target = Self.diskLinkTarget(root: root, path: path).target else { continue }
            var disk = DiskLinks(root: root)
            do {
                try checkSymlink(path: path, target: target) { disk.target(of: $0) }
            } catch let error as ArchiveError {
                refused.append((path, error))
            }
        }
        guard let first = refused.first else { return }
        for (path, _) in refused { Self.removeLink(root: root, path: path) }
        let others = refused.count > 1 ? " (and \(refused.count - 1) other links; all were removed)" : " (the link was removed)"
        throw ArchiveError(first.error.code, first.error.message + others)
    }

    /// The target of the symbolic link at `path` under `root`, or `nil` if
    /// there is none. The resolver asks only for paths whose leading
    /// components it has already found not to be links, so `readlink`
    /// follows nothing on the way.
    private static func diskLinkTarget(root: String, path: String) -> (target: String?, missing: Bool) {
        var buffer = [UInt8](repeating: 0, count: 4097)
        let count = buffer.withUnsafeMutableBytes { readlink(root + "/" + path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) }
        guard count >= 0 else { return (nil, errno == ENOENT || errno == ENOTDIR) }
        return (String(decoding: buffer[0..<count], as: UTF8.self), false)
    }

    /// The links on disk, as one resolution sees them. Below a path that does
    /// not exist nothing does, so a long target into nowhere costs one
    /// `readlink`, not one per component.
    private struct DiskLinks {
        let root: String
        var missing: String?

        init(root: String) { self.root = root }

        mutating func target(of path: String) -> String? {
            if let missing, path.hasPrefix(missing + "/") { return nil }
            let (target, absent) = ArchiveExtractor.diskLinkTarget(root: root, path: path)
            if absent { missing = path }
            return target
        }
    }

    /// Removes the link at `path` under `root`, opening each directory on the
    /// way without following links so that nothing outside is ever touched.
    private static func removeLink(root: String, path: String) {
        var components = LinkResolver.components(path).map(String.init)
        guard let name = components.popLast() else { return }
        var directory = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        for component in components {
            let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(directory)
            guard next >= 0 else { return }
            directory = next
        }
        var status = stat()
        if fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0, UInt32(status.st_mode) & 0o170000 == FileType.symlink {
            unlinkat(directory, name, 0)
        }
        close(directory)
    }

    /// An entry path as errors show it: whole unless it is very long.
    static func describe(_ path: String) -> String {
        let bytes = path.utf8.count
        guard bytes > 160 else { return path }
        return "\(path.prefix(120))… (\(bytes) bytes)"
    }
}
