/// The file type bits of a mode, as tar and libarchive (`AE_IF*`) use them.
enum FileType {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}
