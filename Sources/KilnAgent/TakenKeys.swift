import Foundation
import Synchronization

/// The hand-offs' `Idempotency-Key`s the agent has taken, one a line in
/// `DIR/taken-keys`, so that a resend (Kiln delivers at least once) is
/// answered "already taken" and not deployed again, across restarts too.
final class TakenKeys: Sendable {
    private let file: URL
    private let keys: Mutex<Set<String>>

    /// Reads the keys taken so far; an absent file is none, any other read failure an error naming the file.
    init(file: URL) throws {
        self.file = file
        let data = try AgentFiles.readIfPresent(file)
        let text = String(decoding: data ?? Data(), as: UTF8.self)
        keys = Mutex(Set(text.split(separator: "\n").map(String.init)))
        if data == nil {
            guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw AgentError("cannot create \(file.path), where the agent keeps the hand-offs it took: \(String(cString: strerror(errno))); give --apps-dir a directory root may write")
            }
        }
    }

    func contains(_ key: String) -> Bool {
        keys.withLock { $0.contains(key) }
    }

    /// Takes `key`: `false` when it was taken already. Written through to the
    /// file (and synced) before it returns, so that a taken key survives a crash.
    func take(_ key: String) throws -> Bool {
        try keys.withLock { keys in
            guard !keys.contains(key) else { return false }
            let handle = try FileHandle(forWritingTo: file)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((key + "\n").utf8))
            try handle.synchronize()
            keys.insert(key)
            return true
        }
    }

    /// Whether `key` can be kept one a line: printable ASCII, at most 200 bytes.
    static func isUsable(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 200 && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}
