import Foundation

/// Key files that several processes may create at once (a server and a
/// worker starting together on one home): written owner-only beside their
/// place, then linked into it, so that the first link wins, nobody ever
/// reads a half-written key, and the losers read the winner's.
public enum SecretFile {
    /// Reads the file at `url`, creating it first with `make()`'s bytes when it does not exist.
    public static func readOrCreate(at url: URL, _ make: () -> Data) throws -> Data {
        if let data = FileManager.default.contents(atPath: url.path) { return data }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = url.path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SigningError("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { unlink(temporary) }
        let data = make()
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0 else { throw SigningError("cannot write \(url.path): \(String(cString: strerror(errno)))") }
        if link(temporary, url.path) != 0 && errno != EEXIST {
            throw SigningError("cannot store \(url.path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(of: url)
        guard let stored = FileManager.default.contents(atPath: url.path) else { throw SigningError("cannot read \(url.path)") }
        return stored
    }

    /// Makes a link or rename in `url`'s directory survive a crash: a lost key
    /// file would be replaced by a new key on the next start.
    public static func syncDirectory(of url: URL) {
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }
}
