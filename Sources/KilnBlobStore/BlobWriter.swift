import Crypto
import Foundation

/// Streams bytes into the blob store, hashing them on the way.
///
/// Bytes go to a temporary file beside the store; ``commit()`` moves it under
/// its digest, so a reader never sees a half-written blob, and a writer
/// dropped without committing leaves nothing behind. Blocks on I/O.
public final class BlobWriter {
    private let store: LocalBlobStore
    private let temporary: URL
    private let handle: FileHandle
    private var hasher = SHA256()
    private var finished = false
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    init(store: LocalBlobStore) throws {
        self.store = store
        temporary = store.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw BlobStoreError("cannot create \(temporary.path): is the blob store's directory writable?")
        }
        handle = try FileHandle(forWritingTo: temporary)
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        try handle.write(contentsOf: Data(bytes))
        size += Int64(bytes.count)
    }

    /// Appends bytes.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Closes the file and stores it under its digest. Storing a blob that is
    /// already there is a no-op: identical content is kept once.
    public func commit() throws -> BlobDigest {
        try commit(expecting: nil)
    }

    /// Commits only when the content's digest is `expected` (else the bytes
    /// are dropped); returns the content's digest either way.
    func commit(expecting expected: BlobDigest?) throws -> BlobDigest {
        finished = true
        try handle.synchronize()
        try handle.close()
        let digest = BlobDigest(hasher.finalize())
        guard expected == nil || expected == digest else {
            try? FileManager.default.removeItem(at: temporary)
            return digest
        }
        try store.adopt(temporary, as: digest)
        return digest
    }
}
