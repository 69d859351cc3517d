import Crypto
import Foundation
import KilnArchive
import KilnConfine

/// One layer's tar, gzip-compressed, deterministically: every entry of the
/// layer is listed first, then written sorted bytewise by path, with mtime 0,
/// no user or group names, the owner the source names and the permission
/// bits kept (setuid, setgid and sticky dropped); gzip carries no timestamp.
/// A directory is read beneath its descriptor (``ConfinedDirectory``): links
/// are stored as links and never followed, files are opened beneath the
/// root without following any link, hard links become plain files, and
/// anything else is refused. Blocks on I/O: call it off the pool.
struct LayerTar {
    /// At most this many entries in one directory layer.
    static let maximumEntries = 1_000_000

    enum Content {
        case directory
        case data(Data)
        /// A regular file of the source directory, by its path relative to it.
        case confined(String)
        case link(String)
    }

    struct Entry {
        /// Relative to the image's root, no leading `/`.
        var path: String
        var content: Content
        var mode: UInt32
        var uid: Int
        var gid: Int

        var isDirectory: Bool {
            if case .directory = content { return true }
            return false
        }
    }

    /// The compressed layer's descriptor and its `diff_id` (the SHA-256 of the uncompressed tar).
    struct Written {
        var descriptor: OCILayout.Descriptor
        var diffID: String
    }

    /// Writes the layer of `source` into `layout`, staging it at `staged`.
    /// With `cache`, the tar's digest is worked out first, and a layer
    /// exported before is linked from the cache instead of compressed again;
    /// a new one is kept there. The second value says whether it was cached.
    static func write(_ source: ImageLayerSource, staged: URL, into layout: OCILayout, cache: LayerBlobCache? = nil) throws -> (Written, cached: Bool) {
        let label = "the layer for \(source.path)"
        do {
            let (entries, root) = try plan(source, label: label)
            if let cache {
                let diffID = try tarDigest(entries, root: root, label: label)
                // A blob pruned meanwhile (another build's export) is a miss: the layer is compressed again.
                if let hit = cache.lookup(diffID: diffID), (try? cache.place(hit, into: layout)) != nil {
                    return (Written(descriptor: hit.descriptor, diffID: hit.diffID), true)
                }
                let written = try write(entries, root: root, label: label, staged: staged, into: layout)
                cache.store(written.descriptor, diffID: written.diffID, from: layout)
                return (written, false)
            }
            return (try write(entries, root: root, label: label, staged: staged, into: layout), false)
        } catch let error as ConfinedPathError {
            throw ImageError("\(label) cannot be read: \(error)")
        } catch let error as ImageError {
            throw error
        } catch {
            throw ImageError("\(label) cannot be written into the image: \(error); check the worker's scratch space and export again")
        }
    }

    /// Every entry of the layer, sorted bytewise by path, and the directory its files are read from.
    static func plan(_ source: ImageLayerSource, label: String) throws -> ([Entry], ConfinedDirectory?) {
        let prefix = try components(source.path, what: "the image path of the layer '\(source.comment)'")
        var entries: [Entry] = []
        var root: ConfinedDirectory?
        switch source.content {
        case .files(let files):
            guard files.count <= maximumEntries else { throw ImageError("\(label) has more than \(maximumEntries) entries: split it into several layers") }
            var byPath: [String: Entry] = [:]
            for file in files {
                let path = (prefix + (try components(file.path, what: "the path '\(file.path)' in \(label)"))).joined(separator: "/")
                guard !path.isEmpty else { throw ImageError("\(label) names the image's root as an entry: give each entry a path below /") }
                guard byPath[path] == nil else { throw ImageError("\(label) names /\(path) twice: give each entry once") }
                let content: Content, mode: UInt32
                switch file.kind {
                case .file(let data, let executable): (content, mode) = (.data(data), executable ? 0o755 : 0o644)
                case .link(let target): (content, mode) = (.link(target), 0o777)
                case .directory: (content, mode) = (.directory, 0o755)
                }
                byPath[path] = Entry(path: path, content: content, mode: mode, uid: source.uid, gid: source.gid)
            }
            // Every parent an entry needs, as a directory of 0:0 unless the entries name it.
            for path in Array(byPath.keys) {
                var parent = ""
                for component in path.split(separator: "/").dropLast() {
                    parent += (parent.isEmpty ? "" : "/") + component
                    if let existing = byPath[parent] {
                        guard existing.isDirectory else { throw ImageError("\(label) has /\(parent) as a file or link and /\(path) below it: make /\(parent) a directory") }
                    } else {
                        byPath[parent] = Entry(path: parent, content: .directory, mode: 0o755, uid: 0, gid: 0)
                    }
                }
            }
            entries = Array(byPath.values)
        case .directory, .confined:
            let directory: ConfinedDirectory
            if case .directory(let url) = source.content {
                directory = try ConfinedDirectory(path: url.path, label: label)
            } else if case .confined(let opened) = source.content {
                directory = opened
            } else {
                preconditionFailure("not a directory layer")
            }
            root = directory
            for index in prefix.indices.dropLast() {
                entries.append(Entry(path: prefix[...index].joined(separator: "/"), content: .directory, mode: 0o755, uid: 0, gid: 0))
            }
            if !prefix.isEmpty, let itself = try directory.status(of: "", links: .none) {
                entries.append(Entry(path: prefix.joined(separator: "/"), content: .directory, mode: UInt32(itself.mode & 0o777), uid: source.uid, gid: source.gid))
            }
            try walk(directory, label: label) { relative, entry, holder in
                let path = (prefix + [relative]).joined(separator: "/")
                let content: Content
                switch entry.kind {
                case .directory: content = .directory
                case .regular: content = .confined(relative)
                case .symlink: content = .link(try holder.linkTarget(entry.name))
                default:
                    throw ImageError("\(label) holds \(relative), which is \(entry.kind): an image layer takes only files, directories and symbolic links; remove it from the directory")
                }
                entries.append(Entry(path: path, content: content, mode: UInt32(entry.mode & 0o777), uid: source.uid, gid: source.gid))
            }
        }
        entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return (entries, root)
    }

    /// Visits every entry beneath `root` (in no particular order), with its
    /// path relative to `root` and the directory holding it. One directory
    /// is open at a time, each re-opened from `root` with no link on the way,
    /// so depth costs neither descriptors nor stack.
    static func walk(_ root: ConfinedDirectory, label: String,
                     _ visit: (String, ConfinedDirectory.Entry, ConfinedDirectory) throws -> Void) throws {
        var pending = [""]
        var count = 0
        while let relative = pending.popLast() {
            guard let directory = try root.directory(relative, links: .none) else { continue }
            let entries = try directory.entries()
            count += entries.count
            guard count <= maximumEntries else {
                throw ImageError("\(label) has more than \(maximumEntries) entries: an image layer takes at most that many; remove files from the directory")
            }
            for entry in entries {
                let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
                // A whiteout would delete files of the layers below it when the image is unpacked.
                guard !entry.name.hasPrefix(".wh.") else {
                    throw ImageError("\(label) holds \(path), whose name starts with .wh. (an OCI whiteout, which would delete files of the layers below): rename or remove it")
                }
                try visit(path, entry, directory)
                if entry.kind == .directory { pending.append(path) }
            }
        }
    }

    /// The components of an absolute image path; `.`, `..` and NUL are refused.
    static func components(_ path: String, what: String) throws -> [String] {
        guard path.hasPrefix("/") else { throw ImageError("\(what) is not absolute: start it with /") }
        let parts = path.split(separator: "/").map(String.init)
        guard !parts.contains(where: { $0 == "." || $0 == ".." || $0.contains("\0") }) else {
            throw ImageError("\(what) has a '.' or '..' component: give the path plainly, e.g. /layers/name")
        }
        return parts
    }

    /// The digest of the layer's uncompressed tar (its diff_id), without compressing it.
    static func tarDigest(_ entries: [Entry], root: ConfinedDirectory?, label: String) throws -> String {
        var plain = SHA256()
        let tar = try ArchiveWriter(compression: .none) { bytes in plain.update(bufferPointer: bytes) }
        try writeTar(entries, root: root, label: label, into: tar)
        return "sha256:" + OCIDigest.hex(plain.finalize())
    }

    static func write(_ entries: [Entry], root: ConfinedDirectory?, label: String, staged: URL, into layout: OCILayout) throws -> Written {
        _ = FileManager.default.createFile(atPath: staged.path, contents: nil) // farm-owned: the layer staged in the worker's scratch
        let handle = try FileHandle(forWritingTo: staged) // farm-owned: the layer staged in the worker's scratch
        defer { try? handle.close() }
        var plain = SHA256(), compressed = SHA256()
        var size: Int64 = 0
        // The tar, hashed as it is (its diff_id), then gzip-compressed as one raw stream.
        let gzip = try ArchiveWriter(compression: .gzip, level: 6, raw: true) { bytes in
            compressed.update(bufferPointer: bytes)
            size += Int64(bytes.count)
            try handle.write(contentsOf: Data(bytes))
        }
        try gzip.writeHeader(ArchiveEntry(path: "layer.tar", kind: .file, permissions: 0o644))
        let tar = try ArchiveWriter(compression: .none) { bytes in
            plain.update(bufferPointer: bytes)
            try gzip.writeData(bytes)
        }
        try writeTar(entries, root: root, label: label, into: tar)
        try gzip.finish()
        try handle.close()
        let digest = "sha256:" + OCIDigest.hex(compressed.finalize())
        let destination = layout.blob(digest)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true) // farm-owned: the export's OCI layout
        try? FileManager.default.removeItem(at: destination) // farm-owned: the export's OCI layout (the same bytes, when there)
        try FileManager.default.moveItem(at: staged, to: destination) // farm-owned: the layer staged in the worker's scratch
        return Written(descriptor: .init(mediaType: OCILayout.gzipLayerType, digest: digest, size: size), diffID: "sha256:" + OCIDigest.hex(plain.finalize()))
    }

    /// The entries as a tar (its end included) into `tar`.
    static func writeTar(_ entries: [Entry], root: ConfinedDirectory?, label: String, into tar: ArchiveWriter) throws {
        for entry in entries {
            switch entry.content {
            case .directory:
                try tar.writeHeader(ArchiveEntry(path: entry.path + "/", kind: .directory, permissions: entry.mode, uid: entry.uid, gid: entry.gid))
            case .link(let target):
                try tar.writeHeader(ArchiveEntry(path: entry.path, kind: .symlink(target: target), permissions: entry.mode, uid: entry.uid, gid: entry.gid))
            case .data(let data):
                try tar.write(ArchiveEntry(path: entry.path, kind: .file, permissions: entry.mode, uid: entry.uid, gid: entry.gid), contents: data)
            case .confined(let relative):
                guard let root, let file = try root.openFile(relative, links: .none) else {
                    throw ImageError("\(relative) in \(label) went away while the image was exported: export again once nothing writes to the directory")
                }
                let length = Int64(try file.seekToEnd())
                try file.seek(toOffset: 0)
                try tar.writeHeader(ArchiveEntry(path: entry.path, kind: .file, permissions: entry.mode, size: length, uid: entry.uid, gid: entry.gid))
                var remaining = length
                while remaining > 0 {
                    guard let chunk = try file.read(upToCount: Int(min(remaining, 1 << 20))), !chunk.isEmpty else {
                        throw ImageError("\(relative) in \(label) shrank while the image was exported: export again once nothing writes to the directory")
                    }
                    try chunk.withUnsafeBytes { try tar.writeData($0) }
                    remaining -= Int64(chunk.count)
                }
            }
        }
        try tar.finish()
    }
}
