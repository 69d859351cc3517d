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
    /// The numeric owner and group recorded for the entry (no names are written); 0:0 unless given.
    public var uid: Int
    public var gid: Int

    public init(path: String, kind: Kind, permissions: UInt32, size: Int64 = 0, uid: Int = 0, gid: Int = 0) {
        self.path = path
        self.kind = kind
        self.permissions = permissions
        self.size = size
        self.uid = uid
        self.gid = gid
    }
}
