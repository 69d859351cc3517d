import Crypto
import Foundation
import KilnConfine
import Synchronization

/// A content-addressed store of directory trees on one file system: file
/// contents under `objects/` by SHA-256 (owner-only writable, mode 0444),
/// trees as ``TreeManifest`` objects, and entries that map a cache key to a
/// manifest, for one app (`entries/APP/KEY`) or the whole farm
/// (`entries/_farm/KEY`), so apps with the same lockfile share one copy.
///
/// Saving copies the build's files in (it never links, chowns or chmods
/// them); restoring hard-links objects into place when the worker is root (a
/// copy otherwise, or when the destination is on another file system): a
/// warm restore writes no file content. Objects are read-only and owned by
/// root, so a build (an unprivileged user) can replace a restored file but
/// cannot change the stored one. Both walk the build's directories beneath
/// their descriptors (``KilnConfine/ConfinedDirectory``). Blocks on I/O.
public struct CacheStore: Sendable {
    public let root: URL

    public init(root: URL) throws {
        self.root = root
        for directory in ["objects", "entries", "tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
    }

    /// What saving a tree did.
    public struct Saved: Sendable, Equatable {
        public var manifest: String
        public var files: Int
        public var bytes: Int64
        /// Bytes of objects this save added (the rest were already stored).
        public var newBytes: Int64
    }

    /// What restoring a tree did.
    public struct Restored: Sendable, Equatable {
        public var files: Int
        public var bytes: Int64
    }

    // MARK: Trees

    /// Stores every file of `directory` and its manifest; returns the manifest's digest.
    /// File contents are copied into the store: the build's files keep their
    /// owner, mode and link count.
    public func save(_ directory: URL) throws -> Saved {
        try save(directory, paths: [""])
    }

    /// Stores the subtrees `paths` of `directory` (e.g. `deps` and
    /// `_build/prod/lib`) as one tree, with their parent directories; paths
    /// that do not exist are left out, and a path that is a file is stored alone.
    ///
    /// The build made `directory`: it is walked beneath its descriptor, and
    /// a path with a link on the way (`_build` made a link to a host
    /// directory) is refused with a ``KilnConfine/ConfinedPathError``. Links
    /// inside the walked trees are stored as links, never followed.
    public func save(_ directory: URL, paths: [String]) throws -> Saved {
        let top = try ConfinedDirectory(directory, label: "the app")
        var entries: [TreeManifest.Entry] = []
        var newBytes: Int64 = 0
        var parents = Set<String>()
        let visit = { (relative: String, entry: ConfinedDirectory.Entry, parent: ConfinedDirectory) throws in
            switch entry.kind {
            case .directory:
                entries.append(.init(path: relative, kind: .directory, mode: 0o755, size: 0))
            case .symlink:
                entries.append(.init(path: relative, kind: .symlink, mode: 0o777, size: 0, target: try parent.linkTarget(entry.name)))
            case .regular:
                let executable = entry.mode & 0o111 != 0
                let (digest, size, added) = try putFile(entry.name, in: parent, executable: executable)
                if added { newBytes += size }
                entries.append(.init(path: relative, kind: .file, mode: executable ? 0o755 : 0o644, size: size, digest: digest))
            default:
                break // sockets, fifos and devices are not dependencies
            }
        }
        for path in paths {
            if path.isEmpty {
                try top.walk(relative: "", visit)
                continue
            }
            let file = try top.kind(of: path, links: .none) == .regular
            let isDirectory = file ? false : try top.directory(path, links: .none) != nil
            guard file || isDirectory else { continue }
            var parent = ""
            for component in path.split(separator: "/").dropLast() {
                parent += (parent.isEmpty ? "" : "/") + component
                if parents.insert(parent).inserted { entries.append(.init(path: parent, kind: .directory, mode: 0o755, size: 0)) }
            }
            if file {
                // A single file (a CNB layer's toml beside its directory), with the directories above it.
                let holder: ConfinedDirectory? = parent.isEmpty ? top : try top.directory(parent, links: .none)
                guard let holder, let status = try holder.status(of: String(path.split(separator: "/").last ?? ""), links: .none) else { continue }
                try visit(path, status, holder)
                continue
            }
            guard let subtree = try top.directory(path, links: .none) else { continue }
            entries.append(.init(path: path, kind: .directory, mode: 0o755, size: 0))
            try subtree.walk(relative: path, visit)
        }
        let manifest = TreeManifest(entries: entries)
        let (digest, _) = try putData(try manifest.encoded())
        return Saved(manifest: digest, files: manifest.files, bytes: manifest.bytes, newBytes: newBytes)
    }

    /// Recreates the tree of `manifest` under `destination` (created if absent).
    /// A missing object, or one whose size is not the manifest's, is a
    /// ``CacheFault``; the corrupt object is removed so the next save stores it again.
    public func restore(_ manifestDigest: String, into destination: URL) throws -> Restored {
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        return try restore(manifestDigest, into: ConfinedDirectory(destination, label: "CACHE_DIR"))
    }

    /// Recreates the tree of `manifest` beneath `destination`'s descriptor:
    /// every directory is created or opened without following a link, so
    /// a link a build left there is refused, never written through.
    ///
    /// Files are hard links to the store's objects only when this process
    /// is root: objects then belong to root with mode 0444, which the build
    /// user can neither write nor chmod. A worker not running as root
    /// shares its uid with the build, which could write an object through a
    /// link, so it restores copies.
    public func restore(_ manifestDigest: String, into destination: ConfinedDirectory) throws -> Restored {
        try restore(manifestDigest, into: destination, copies: false)
    }

    /// The same; with `copies`, every file is a copy of its own, which the
    /// build may then be given and change in place (a CNB buildpack
    /// rewrites files of the cache layer it finds restored).
    public func restore(_ manifestDigest: String, into destination: ConfinedDirectory, copies: Bool) throws -> Restored {
        let manifest = try self.manifest(manifestDigest)
        var directories: [String: ConfinedDirectory] = ["": destination]
        func directory(_ path: String) throws -> ConfinedDirectory {
            if let known = directories[path] { return known }
            let made = try destination.makeDirectories(path)
            directories[path] = made
            return made
        }
        // Directories and links first, in order; then the files, which are
        // independent of each other, placed on every core at once.
        var files: [(ConfinedDirectory, String, TreeManifest.Entry)] = []
        for entry in manifest.entries {
            let components = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            guard let last = components.last, !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw CacheFault("manifest \(manifestDigest.prefix(12)) lists the unusable path \(entry.path.debugDescription)")
            }
            let parentPath = components.dropLast().joined(separator: "/")
            switch entry.kind {
            case .directory:
                _ = try directory(entry.path)
            case .symlink:
                try directory(parentPath).makeLink(String(last), to: entry.target ?? "")
            case .file:
                files.append((try directory(parentPath), String(last), entry))
            }
        }
        let pending = files, linking = getuid() == 0 && !copies
        try Self.inParallel(pending.count) { index in
            let (parent, name, entry) = pending[index]
            try place(entry, as: name, in: parent, manifest: manifestDigest, linking: linking)
        }
        return Restored(files: files.count, bytes: files.reduce(0) { $0 + $1.2.size })
    }

    /// Links (or copies) one file's object into place, after checking its size.
    func place(_ entry: TreeManifest.Entry, as name: String, in parent: ConfinedDirectory, manifest manifestDigest: String, linking: Bool) throws {
        guard let digest = entry.digest else { throw CacheFault("manifest \(manifestDigest.prefix(12)) lists \(entry.path) without a digest") }
        let object = objectPath(digest, executable: entry.mode & 0o111 != 0)
        var info = stat()
        guard lstat(object, &info) == 0 else {
            throw CacheFault("object \(digest.prefix(12)) of \(entry.path) is missing")
        }
        guard Int64(info.st_size) == entry.size else {
            unlink(object)
            throw CacheFault("object \(digest.prefix(12)) of \(entry.path) is corrupt (\(info.st_size) bytes, expected \(entry.size)); dropped")
        }
        // Sealed objects keep a fixed mtime, and any write moves it: only a
        // moved one is hashed again, so a warm restore reads no content.
        if info.st_mtim.tv_sec != Self.sealedTime {
            guard (try? Self.digest(ofFile: object)) == digest else {
                unlink(object)
                throw CacheFault("object \(digest.prefix(12)) of \(entry.path) is corrupt (its content no longer matches its digest); dropped")
            }
            Self.seal(object)
        }
        if linking, try parent.hardLink(from: object, as: name) { return }
        let output = try parent.createFile(name, mode: mode_t(entry.mode))
        try Self.copy(from: object, to: output)
    }

    /// The manifest stored under `digest`, checked against it.
    public func manifest(_ digest: String) throws -> TreeManifest {
        guard let data = FileManager.default.contents(atPath: objectPath(digest)) else {
            throw CacheFault("manifest \(digest.prefix(12)) is missing")
        }
        guard Self.hex(SHA256.hash(data: data)) == digest, let manifest = try? JSONDecoder().decode(TreeManifest.self, from: data) else {
            unlink(objectPath(digest))
            throw CacheFault("manifest \(digest.prefix(12)) is corrupt; dropped")
        }
        return manifest
    }

    /// Re-hashes every object; removes and returns those whose content no longer matches their name.
    public func verify() throws -> [String] {
        var corrupt: [String] = []
        for name in try objectDigests() {
            let digest = String(name.prefix(64))
            let path = objectPath(named: name)
            if (try? Self.digest(ofFile: path)) != digest {
                unlink(path)
                corrupt.append(name)
            }
        }
        return corrupt
    }
}

extension CacheStore {
    /// Runs `body` for 0..<count on every core at once (files are
    /// independent of each other); throws the first error.
    static func inParallel(_ count: Int, _ body: @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let failures = Failures()
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount * 2, 16, count))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: count, by: lanes) {
                do {
                    try body(index)
                } catch {
                    failures.record(error)
                    return
                }
            }
        }
        if let first = failures.first { throw first }
    }
}

/// The first error of parallel lanes.
final class Failures: Sendable {
    private let errors = Mutex<[any Error]>([])
    func record(_ error: any Error) { errors.withLock { $0.append(error) } }
    var first: (any Error)? { errors.withLock { $0.first } }
}
