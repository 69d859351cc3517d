import Crypto
import Foundation

/// Files only root may read or write, outside the farm, that a hostile build
/// tries to reach through the worker: `secret` (0600), and `tree/` with
/// `prod/lib/` and `lib/` files (0600), for attacks that aim a directory.
/// ``changes()`` says what differs from when it was made: contents, owner,
/// mode, link count, or entries added or removed.
public struct Canary: Sendable {
    public let root: URL
    /// The bytes of every file: a build's log, error or slug that holds them leaked it.
    public let marker: String
    let snapshot: [String: String]

    public var secret: URL { root.appendingPathComponent("secret") }
    /// A directory with files, for links that aim at a directory.
    public var tree: URL { root.appendingPathComponent("tree") }

    public init() throws {
        root = try TestEnvironment.temporaryDirectory("canary")
        marker = "KILN-CANARY-\(UUID().uuidString)"
        for path in ["secret", "tree/prod/lib/canary.beam", "tree/lib/canary.ex", "tree/secret"] {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("\(marker)\n".utf8).write(to: file)
            chmod(file.path, 0o600)
        }
        snapshot = try Self.scan(root)
    }

    /// Every difference from the snapshot, one line each; empty when untouched.
    public func changes() throws -> [String] {
        let now = try Self.scan(root)
        var lines: [String] = []
        for (path, state) in snapshot.sorted(by: { $0.key < $1.key }) where now[path] != state {
            lines.append("\(path): \(state) → \(now[path] ?? "gone")")
        }
        for path in now.keys.sorted() where snapshot[path] == nil { lines.append("\(path): added") }
        return lines
    }

    /// Whether `text` holds the canary's contents.
    public func leaked(into text: String) -> Bool { text.contains(marker) }

    static func scan(_ root: URL) throws -> [String: String] {
        var states: [String: String] = [:]
        func visit(_ relative: String) throws {
            let path = relative.isEmpty ? root.path : root.path + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            var state = "uid \(info.st_uid) gid \(info.st_gid) mode \(String(info.st_mode, radix: 8)) links \(info.st_nlink)"
            if info.st_mode & S_IFMT == S_IFREG {
                state += " sha256 " + SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))).map { String(format: "%02x", $0) }.joined()
            }
            states[relative.isEmpty ? "." : relative] = state
            if info.st_mode & S_IFMT == S_IFDIR {
                for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                    try visit(relative.isEmpty ? name : relative + "/" + name)
                }
            }
        }
        try visit("")
        return states
    }
}
