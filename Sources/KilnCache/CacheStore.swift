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
    /// that do not exist are left out.
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
            guard let subtree = try top.directory(path, links: .none) else { continue }
            var parent = ""
            for component in path.split(separator: "/").dropLast() {
                parent += (parent.isEmpty ? "" : "/") + component
                if parents.insert(parent).inserted { entries.append(.init(path: parent, kind: .directory, mode: 0o755, size: 0)) }
            }
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
        let pending = files, linking = getuid() == 0
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

    // MARK: Objects

    /// A hard link shares its mode, so executable content is a separate object (`DIGEST.x`, 0555).
    func objectPath(_ digest: String, executable: Bool = false) -> String {
        objectPath(named: digest + (executable ? ".x" : ""))
    }

    func objectPath(named name: String) -> String {
        root.path + "/objects/" + name.prefix(2) + "/" + name
    }

    /// The names of all objects: a digest, or a digest and `.x`.
    func objectDigests() throws -> [String] {
        let objects = root.appendingPathComponent("objects")
        return try FileManager.default.contentsOfDirectory(atPath: objects.path).flatMap { fan in
            (try? FileManager.default.contentsOfDirectory(atPath: objects.appendingPathComponent(fan).path)) ?? []
        }
    }

    /// Stores a copy of the regular file `name` of `parent` (the build's,
    /// opened without following a link); returns its digest, its size and
    /// whether it was new. The build's file is only read.
    func putFile(_ name: String, in parent: ConfinedDirectory, executable: Bool) throws -> (String, Int64, Bool) {
        let input = try parent.openEntry(name)
        let temporary = root.path + "/tmp/" + UUID().uuidString
        let (digest, size): (String, Int64)
        do {
            (digest, size) = try copyHashing(input, to: temporary, mode: executable ? 0o555 : 0o444)
        } catch {
            unlink(temporary)
            throw error
        }
        let object = objectPath(digest, executable: executable)
        if access(object, F_OK) == 0 {
            unlink(temporary)
            return (digest, size, false)
        }
        Self.seal(temporary)
        try adopt(temporary, as: object, what: digest)
        return (digest, size, true)
    }

    /// Copies `input` into a new file at `temporary` with `mode`, hashing what is written.
    func copyHashing(_ input: FileHandle, to temporary: String, mode: mode_t) throws -> (String, Int64) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fault("cannot create \(temporary)") }
        let output = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            try output.write(contentsOf: chunk)
            size += Int64(chunk.count)
        }
        fchmod(fd, mode)
        return (Self.hex(hasher.finalize()), size)
    }

    /// Copies the object at `path` into `output`, which it closes.
    static func copy(from path: String, to output: FileHandle) throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw CacheFault("cannot read \(path)") }
        defer { try? input.close(); try? output.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
    }

    /// Copies the tier's own file at `path` aside, makes it read-only, hashes
    /// it (what is hashed is what is stored) and stores it unless it already
    /// is. With `expected`, a different digest is a fault.
    func ingest(_ path: String, executable: Bool, expected: String?) throws -> (String, Bool) {
        let temporary = root.path + "/tmp/" + UUID().uuidString
        guard let input = FileHandle(forReadingAtPath: path) else { throw CacheFault("cannot read \(path)") }
        defer { try? input.close() }
        let digest: String
        do { (digest, _) = try copyHashing(input, to: temporary, mode: executable ? 0o555 : 0o444) } catch { unlink(temporary); throw error }
        if let expected, digest != expected {
            unlink(temporary)
            throw CacheFault("object \(expected.prefix(12)) is corrupt (its content no longer matches its digest)")
        }
        let object = objectPath(digest, executable: executable)
        if access(object, F_OK) == 0 {
            unlink(temporary)
            return (digest, false)
        }
        Self.seal(temporary)
        try adopt(temporary, as: object, what: digest)
        return (digest, true)
    }

    /// Renames a finished temporary file to its object path. Two builds
    /// storing the same content race harmlessly: both renames leave the same bytes.
    func adopt(_ temporary: String, as object: String, what: String) throws {
        let fan = (object as NSString).deletingLastPathComponent
        if access(fan, F_OK) != 0 { mkdir(fan, 0o755) }
        guard rename(temporary, object) == 0 else { unlink(temporary); throw fault("cannot store \(what.prefix(12))") }
    }

    /// An object's fixed mtime (2000-01-01): a write to the object moves it.
    static let sealedTime = 946_684_800

    static func seal(_ path: String) {
        var times = [timespec(tv_sec: sealedTime, tv_nsec: 0), timespec(tv_sec: sealedTime, tv_nsec: 0)]
        utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    func putData(_ data: Data) throws -> (String, Bool) {
        let digest = Self.hex(SHA256.hash(data: data))
        let object = objectPath(digest)
        if access(object, F_OK) == 0 { return (digest, false) }
        try FileManager.default.createDirectory(atPath: (object as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        try data.write(to: temporary)
        chmod(temporary.path, 0o444)
        guard rename(temporary.path, object) == 0 else { throw fault("cannot store the manifest \(digest.prefix(12))") }
        return (digest, true)
    }

    static func digest(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CacheFault("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    func fault(_ what: String) -> CacheFault {
        CacheFault("\(what): \(String(cString: strerror(errno)))")
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
