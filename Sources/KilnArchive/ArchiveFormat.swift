/// The compression applied around a tar stream.
public enum ArchiveCompression: String, Sendable, Codable, CaseIterable {
    /// zstd: Kiln's default for slugs and source archives.
    case zstd
    /// gzip, for Heroku-compatible consumers of a slug.
    case gzip
    /// No compression.
    case none

    /// The file name suffix of a tar with this compression.
    public var fileExtension: String {
        switch self {
        case .zstd: "tar.zst"
        case .gzip: "tar.gz"
        case .none: "tar"
        }
    }
}

/// One entry to write into a tar stream.
public struct ArchiveEntry: Sendable, Equatable {
    /// What the entry is.
    public enum Kind: Sendable, Equatable {
        case file
        case directory
        /// A symbolic link pointing at `target`.
        case symlink(target: String)
    }

    /// Path inside the archive, relative, with `/` separators.
    public var path: String
    public var kind: Kind
    /// Permission bits (for example 0o755); the file type bits are derived from `kind`.
    public var permissions: UInt32
    /// Size in bytes of a file entry's content.
    public var size: Int64

    public init(path: String, kind: Kind, permissions: UInt32, size: Int64 = 0) {
        self.path = path
        self.kind = kind
        self.permissions = permissions
        self.size = size
    }
}

/// The file type bits of a mode, as tar and libarchive (`AE_IF*`) use them.
enum FileType {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}
