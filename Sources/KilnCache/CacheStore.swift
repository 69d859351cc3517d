import Crypto
import Foundation
import Synchronization

/// A content-addressed store of directory trees on one file system: file
/// contents under `objects/` by SHA-256 (owner-only writable, mode 0444),
/// trees as ``TreeManifest`` objects, and entries that map a cache key to a
/// manifest, for one app (`entries/APP/KEY`) or the whole farm
/// (`entries/_farm/KEY`), so apps with the same lockfile share one copy.
///
/// Restoring hard-links objects into place (a copy when the destination is
/// on another file system): a warm restore writes no file content. Objects
/// are read-only and owned by the worker, so a build (an unprivileged user)
/// can replace a restored file but cannot change the stored one. Blocks on I/O.
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
    /// Files are moved into the store by hard link when they are on its file
    /// system (the build directory is discarded afterwards), copied otherwise.
    public func save(_ directory: URL) throws -> Saved {
        try save(directory, paths: [""])
    }

    /// Stores the subtrees `paths` of `directory` (e.g. `deps` and
    /// `_build/prod/lib`) as one tree, with their parent directories; paths
    /// that do not exist are left out.
    public func save(_ directory: URL, paths: [String]) throws -> Saved {
        var entries: [TreeManifest.Entry] = []
        var newBytes: Int64 = 0
        var parents = Set<String>()
        let visit = { (relative: String, absolute: String, info: stat) throws in
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entries.append(.init(path: relative, kind: .directory, mode: 0o755, size: 0))
            case S_IFLNK:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: absolute)
                entries.append(.init(path: relative, kind: .symlink, mode: 0o777, size: 0, target: target))
            case S_IFREG:
                let executable = info.st_mode & 0o111 != 0
                let (digest, added) = try putFile(absolute, executable: executable)
                if added { newBytes += Int64(info.st_size) }
                entries.append(.init(path: relative, kind: .file, mode: executable ? 0o755 : 0o644, size: Int64(info.st_size), digest: digest))
            default:
                break // sockets, fifos and devices are not dependencies
            }
        }
        for path in paths {
            if path.isEmpty {
                try walk(directory.path, relative: "", visit)
                continue
            }
            var info = stat()
            let absolute = directory.path + "/" + path
            guard lstat(absolute, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            var parent = ""
            for component in path.split(separator: "/").dropLast() {
                parent += (parent.isEmpty ? "" : "/") + component
                if parents.insert(parent).inserted { entries.append(.init(path: parent, kind: .directory, mode: 0o755, size: 0)) }
            }
            try visit(path, absolute, info)
            try walk(absolute, relative: path, visit)
        }
        let manifest = TreeManifest(entries: entries)
        let (digest, _) = try putData(try manifest.encoded())
        return Saved(manifest: digest, files: manifest.files, bytes: manifest.bytes, newBytes: newBytes)
    }

    /// Recreates the tree of `manifest` under `destination` (which must not exist).
    /// A missing object, or one whose size is not the manifest's, is a
    /// ``CacheFault``; the corrupt object is removed so the next save stores it again.
    public func restore(_ manifestDigest: String, into destination: URL) throws -> Restored {
        let manifest = try self.manifest(manifestDigest)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let base = destination.path
        // Directories and links first, in order; then the files, which are
        // independent of each other, linked on every core at once.
        var files: [TreeManifest.Entry] = []
        for entry in manifest.entries {
            let path = base + "/" + entry.path
            switch entry.kind {
            case .directory:
                guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw fault("cannot create \(path)") }
            case .symlink:
                guard symlink(entry.target ?? "", path) == 0 else { throw fault("cannot link \(path)") }
            case .file:
                files.append(entry)
            }
        }
        let pending = files
        try Self.inParallel(pending.count) { index in try place(pending[index], under: base, manifest: manifestDigest) }
        return Restored(files: files.count, bytes: files.reduce(0) { $0 + $1.size })
    }

    /// Links (or copies) one file's object into place, after checking its size.
    func place(_ entry: TreeManifest.Entry, under base: String, manifest manifestDigest: String) throws {
        guard let digest = entry.digest else { throw CacheFault("manifest \(manifestDigest.prefix(12)) lists \(entry.path) without a digest") }
        let path = base + "/" + entry.path
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
        if link(object, path) != 0 {
            guard errno == EXDEV || errno == EMLINK else { throw fault("cannot link \(entry.path)") }
            try copyFile(object, to: path, mode: entry.mode)
        }
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

    /// Stores the file at `path`; returns its digest and whether it was new.
    func putFile(_ path: String, executable: Bool) throws -> (String, Bool) {
        try ingest(path, executable: executable, expected: nil, linking: true)
    }

    /// Links (with `linking`, else copies) the file at `path` aside, makes
    /// it ours and read-only, hashes it (what is hashed is what is stored)
    /// and stores it unless it already is. With `expected`, a different
    /// digest is a fault.
    func ingest(_ path: String, executable: Bool, expected: String?, linking: Bool) throws -> (String, Bool) {
        let temporary = root.path + "/tmp/" + UUID().uuidString
        if !linking || link(path, temporary) != 0 { try copyFile(path, to: temporary, mode: 0o444) }
        // Ours and read-only: a build that later edits a restored file in place is refused instead of corrupting the store.
        chown(temporary, getuid(), getgid())
        chmod(temporary, executable ? 0o555 : 0o444)
        let digest: String
        do { digest = try Self.digest(ofFile: temporary) } catch { unlink(temporary); throw error }
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

    func copyFile(_ source: String, to destination: String, mode: UInt16) throws {
        guard FileManager.default.createFile(atPath: destination, contents: nil) else { throw fault("cannot create \(destination)") }
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
        defer { try? input.close(); try? output.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
        chmod(destination, mode_t(mode))
    }

    func walk(_ absolute: String, relative: String, _ visit: (String, String, stat) throws -> Void) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: absolute).sorted() {
            let path = absolute + "/" + name
            let entryPath = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { throw fault("cannot read \(path)") }
            try visit(entryPath, path, info)
            if info.st_mode & S_IFMT == S_IFDIR { try walk(path, relative: entryPath, visit) }
        }
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
