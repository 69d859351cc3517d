import Foundation

/// A directory tree as the cache stores it: every path with its kind, mode,
/// size, and the digest of its content (files) or its target (links).
/// Stored as an object itself, so a tree is named by the digest of its
/// manifest, and two equal trees are one manifest.
public struct TreeManifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case file, directory, symlink }
        public var path: String
        public var kind: Kind
        /// Permission bits (0o755 or 0o644 for files: the executable bit is what matters).
        public var mode: UInt16
        public var size: Int64
        /// SHA-256 of a file's content, hex.
        public var digest: String?
        public var target: String?
    }

    public var entries: [Entry]

    /// Bytes of file content the tree holds.
    public var bytes: Int64 { entries.reduce(0) { $0 + $1.size } }
    public var files: Int { entries.filter { $0.kind == .file }.count }

    /// The canonical bytes: sorted keys, entries in path order.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }
}
