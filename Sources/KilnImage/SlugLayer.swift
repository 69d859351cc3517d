import Crypto
import Foundation
import KilnArchive

/// A slug as one image layer at `/app`. A slug's tar already is what a
/// deterministic layer must be (entries under `app/`, sorted, owned by 0:0,
/// mtime 0: ``SlugPacker`` wrote it), so the layer is that tar, read once
/// and re-compressed as gzip without a timestamp: the same slug gives the
/// same layer bytes on any worker. Blocks on I/O: call it off the pool.
struct SlugLayer {
    /// The compressed layer's descriptor and its `diff_id` (the SHA-256 of the uncompressed tar).
    struct Written {
        var descriptor: OCILayout.Descriptor
        var diffID: String
    }

    /// Writes the layer of `slug` (tar.zst or tar.gz) into `layout`, staging it in `scratch`.
    static func write(slug: URL, scratch: URL, into layout: OCILayout) throws -> Written {
        let staged = scratch.appendingPathComponent("layer.tar.gz")
        _ = FileManager.default.createFile(atPath: staged.path, contents: nil)
        let handle = try FileHandle(forWritingTo: staged)
        var plain = SHA256(), compressed = SHA256()
        var size: Int64 = 0
        var first = true, firstBlock = Data()
        let writer = try ArchiveWriter(compression: .gzip, level: 6, raw: true) { bytes in
            compressed.update(bufferPointer: bytes)
            size += Int64(bytes.count)
            try handle.write(contentsOf: Data(bytes))
        }
        try writer.writeHeader(ArchiveEntry(path: "layer.tar", kind: .file, permissions: 0o644))
        try CompressedStream.read(slug) { bytes in
            if first { firstBlock = Data(bytes.prefix(512)); first = false }
            plain.update(bufferPointer: bytes)
            try writer.writeData(bytes)
        }
        try writer.finish()
        try handle.close()
        // A tar's first header names its first entry: a slug's is `app/`.
        guard firstBlock.count == 512, firstBlock.prefix(4) == Data("app/".utf8) else {
            throw ImageError("the slug is not a tar of an app/ directory: it is not a Kiln or Heroku slug")
        }
        let digest = "sha256:" + OCIDigest.hex(compressed.finalize())
        let destination = layout.blob(digest)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: staged, to: destination)
        return Written(descriptor: .init(mediaType: OCILayout.gzipLayerType, digest: digest, size: size), diffID: "sha256:" + OCIDigest.hex(plain.finalize()))
    }
}
