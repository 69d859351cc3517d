import Crypto
import Foundation

/// A content-addressed blob store in a local directory: the farm's store
/// when it has one host (or a shared file system), and every process's
/// staging area and read-through copy in front of an object store.
///
/// Blobs live at `ROOT/sha256/AB/ABCDEF…`, named by the SHA-256 of their
/// bytes, written once and never modified. Several processes on one host may
/// share a root: writes are atomic renames. Methods block on file I/O.
public struct LocalBlobStore: BlobStore {
    /// The store's directory.
    public let root: URL

    /// Opens (creating if needed) a store rooted at `root`.
    public init(root: URL) throws {
        self.root = root
        for directory in [root.appendingPathComponent("sha256"), root.appendingPathComponent("tmp")] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
    }

    var temporaryDirectory: URL { root.appendingPathComponent("tmp") }

    public var location: String { root.path }

    public func check() throws {
        guard access(temporaryDirectory.path, W_OK) == 0 else {
            throw BlobStoreError("the blob store \(root.path) is not writable by this user: fix its owner or choose another --home")
        }
    }

    /// Where a blob is, or would be, stored.
    public func path(for digest: BlobDigest) -> URL {
        root.appendingPathComponent("sha256")
            .appendingPathComponent(String(digest.hex.prefix(2)))
            .appendingPathComponent(digest.hex)
    }

    /// Whether the blob is stored.
    public func contains(_ digest: BlobDigest) -> Bool {
        FileManager.default.fileExists(atPath: path(for: digest).path)
    }

    /// Starts writing a new blob. `durable: false` skips the fsync of its
    /// commit, for a blob that is a scratch file (`kiln slug pack`'s output)
    /// rather than something the database will name.
    public func makeWriter(durable: Bool = true) throws -> BlobWriter {
        try BlobWriter(store: self, durable: durable)
    }

    /// Stores small in-memory content (a manifest, a signature).
    public func put(_ data: Data) throws -> BlobDigest {
        let writer = try makeWriter()
        try writer.write(data)
        return try writer.commit()
    }

    /// Reads a small blob whole. Large blobs should be streamed from ``path(for:)``.
    public func data(for digest: BlobDigest) throws -> Data {
        do {
            return try Data(contentsOf: path(for: digest))
        } catch {
            throw BlobStoreError.missing(digest, in: location)
        }
    }

    /// Copies a blob to `destination`, checking its digest on the way.
    public func copy(_ digest: BlobDigest, to destination: URL) throws {
        try retrieve(digest, to: destination)
    }

    public func retrieve(_ digest: BlobDigest, to destination: URL) throws {
        let source = path(for: digest)
        guard let input = FileHandle(forReadingAtPath: source.path) else {
            throw BlobStoreError.missing(digest, in: location)
        }
        defer { try? input.close() }
        do {
            _ = FileManager.default.createFile(atPath: destination.path, contents: nil)
            let output = try FileHandle(forWritingTo: destination)
            defer { try? output.close() }
            var hasher = SHA256()
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
            }
            guard BlobDigest(hasher.finalize()) == digest else {
                throw BlobStoreError("blob \(digest) in \(root.path) is corrupt: its content no longer matches its digest")
            }
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
    }

    public func store(_ file: URL, as digest: BlobDigest) throws {
        guard !contains(digest) else { return }
        let writer = try makeWriter()
        guard let input = FileHandle(forReadingAtPath: file.path) else { throw BlobStoreError("cannot read \(file.path)") }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try writer.write(chunk)
        }
        guard try writer.commit(expecting: digest) == digest else {
            throw BlobStoreError("\(file.path) is not blob \(digest): its content has another digest")
        }
    }

    /// Takes a blob from another store into this directory, checked on the way.
    public func ingest(_ digest: BlobDigest, from other: any BlobStore) throws {
        guard !contains(digest) else { return }
        let temporary = temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try other.retrieve(digest, to: temporary)
        try adopt(temporary, as: digest)
    }

    func adopt(_ file: URL, as digest: BlobDigest) throws {
        let destination = path(for: digest)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: destination.path) {
            try FileManager.default.removeItem(at: file)
            return
        }
        guard rename(file.path, destination.path) == 0 else {
            throw BlobStoreError("cannot store blob \(digest) at \(destination.path): \(String(cString: strerror(errno)))")
        }
        // The rename is durable once its directory is: the database may name the blob next.
        let directory = open(destination.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
