import Foundation

/// An exclusive advisory lock on a file (flock), held until released: two
/// builds on one worker do not fetch into the same cache directory at once.
final class FileLock: Sendable {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Waits (without blocking a thread) until the lock is ours.
    static func acquire(_ file: URL) async throws -> FileLock {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BuildpackError("cannot open the lock \(file.path): \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                close(descriptor)
                throw BuildpackError("cannot lock \(file.path): \(String(cString: strerror(errno)))")
            }
            do { try await Task.sleep(for: .milliseconds(50)) } catch { close(descriptor); throw error }
        }
        return FileLock(descriptor: descriptor)
    }

    deinit { close(descriptor) }
}
