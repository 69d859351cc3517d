import Crypto
import Foundation
import KilnArchive

/// A slug's tree as one image layer at `/app`: sorted entries, owner 0:0,
/// mtime 0, gzip without a timestamp, so that the same slug always gives the
/// same layer digest on any worker. Blocks on I/O: call it off the pool.
struct SlugLayer {
    /// The compressed layer's descriptor and its `diff_id` (the SHA-256 of the uncompressed tar).
    struct Written {
        var descriptor: OCILayout.Descriptor
        var diffID: String
    }

    /// Unpacks `slug` (tar.zst or tar.gz, entries under `app/`) in `scratch` and writes the layer into `layout`.
    static func write(slug: URL, scratch: URL, into layout: OCILayout) throws -> Written {
        let tree = scratch.appendingPathComponent("tree")
        try? FileManager.default.removeItem(at: tree)
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tree) }
        _ = try ArchiveExtractor().extract(archive: slug, into: tree)
        let app = tree.appendingPathComponent("app")
        guard FileManager.default.fileExists(atPath: app.path) else { throw ImageError("the slug has no app/ directory: it is not a Kiln or Heroku slug") }

        // The uncompressed tar is only hashed; the gzip one is kept.
        var plain = SHA256()
        let plainWriter = try ArchiveWriter(compression: .none, mtime: 0) { plain.update(bufferPointer: $0) }
        _ = try DirectoryArchiver(prefix: "app").archive(app, into: plainWriter)
        try plainWriter.finish()

        let staged = scratch.appendingPathComponent("layer.tar.gz")
        _ = FileManager.default.createFile(atPath: staged.path, contents: nil)
        let handle = try FileHandle(forWritingTo: staged)
        var compressed = SHA256()
        var size: Int64 = 0
        let gzipWriter = try ArchiveWriter(compression: .gzip, level: 6, mtime: 0) { bytes in
            compressed.update(bufferPointer: bytes)
            size += Int64(bytes.count)
            try handle.write(contentsOf: Data(bytes))
        }
        _ = try DirectoryArchiver(prefix: "app").archive(app, into: gzipWriter)
        try gzipWriter.finish()
        try handle.close()

        let digest = "sha256:" + OCIDigest.hex(compressed.finalize())
        let destination = layout.blob(digest)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: staged, to: destination)
        return Written(descriptor: .init(mediaType: OCILayout.gzipLayerType, digest: digest, size: size), diffID: "sha256:" + OCIDigest.hex(plain.finalize()))
    }
}
