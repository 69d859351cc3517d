import Foundation

/// A file of the farm's home that holds a secret (`kiln.env`, the push
/// settings), written whole and readable by its owner only.
public enum OwnerOnlyFile {
    /// Writes `data` beside `url`, mode 0600 before any byte is in it, and
    /// renames it into place: a reader sees the old contents or the new, never half.
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8))")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw WriteError(message: "cannot write \(temporary.path): check that the home \(url.deletingLastPathComponent().path) is writable by this user")
        }
        do {
            // createFile's mode is masked by the umask: set it again before the secret goes in.
            chmod(temporary.path, 0o600)
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw WriteError(message: "cannot replace \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// The file could not be written; the message names it and what to check.
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }
}
