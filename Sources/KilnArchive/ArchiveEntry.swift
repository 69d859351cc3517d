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
