import Foundation
import KilnArchive
import KilnBlobStore

/// Packs a built app directory into a slug, deterministically, straight
/// into the blob store.
///
/// Entries sit under `app/`, sorted bytewise, owned by 0:0 with mtime 0 and
/// permissions reduced to 0644/0755: the same tree always gives the same
/// bytes and so the same digest. Blocks on I/O and CPU: call it off the
/// cooperative pool.
public struct SlugPacker: Sendable {
    public var compression: ArchiveCompression
    /// zstd level 3 is zstd's own default: fast, and within a few percent of level 9 on app trees.
    public var level: Int?

    public init(compression: ArchiveCompression = .zstd, level: Int? = nil) {
        self.compression = compression
        self.level = level ?? (compression == .zstd ? 3 : 6)
    }

    /// The slug as stored.
    public struct Packed: Sendable {
        public var digest: BlobDigest
        public var size: Int64
        public var entries: Int
        /// The file name suffix of its format, as the manifest records it: "tar.zst" or "tar.gz".
        public var format: String
    }

    /// Packs `directory` into a new blob of `store` (fsynced unless `durable` is false).
    public func pack(_ directory: URL, into store: LocalBlobStore, durable: Bool = true) throws -> Packed {
        let blob = try store.makeWriter(durable: durable)
        let writer = try ArchiveWriter(compression: compression, level: level, mtime: 0) { bytes in
            try blob.write(bytes)
        }
        let entries = try DirectoryArchiver(prefix: "app").archive(directory, into: writer)
        try writer.finish()
        let size = blob.size
        return Packed(digest: try blob.commit(), size: size, entries: entries, format: compression.fileExtension)
    }
}
