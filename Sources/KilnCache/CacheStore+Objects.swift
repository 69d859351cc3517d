import Crypto
import Foundation
import KilnConfine
import Synchronization

/// The objects of one tier: file contents by SHA-256, stored once, sealed and read-only.
extension CacheStore {
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
        guard let digest = try digest(of: handle) else { throw CacheFault("\(path) is too large to hash") }
        return digest
    }

    /// The SHA-256 of what is left to read of `handle`, in hex; `nil` as soon as it passes `cap` bytes.
    static func digest(of handle: FileHandle, cap: Int64 = .max) throws -> String? {
        var hasher = SHA256()
        var total: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            total += Int64(chunk.count)
            guard total <= cap else { return nil }
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    func fault(_ what: String) -> CacheFault {
        CacheFault("\(what): \(String(cString: strerror(errno)))")
    }
}
