import CKilnFile
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
    private let descriptor: Int32
    private var hasher = SHA256()
    private var finished = false
    /// Bytes written so far.
    public private(set) var size: Int64 = 0
    /// Bytes whose write-back has been started.
    private var flushed: Int64 = 0
    /// Whether ``commit()`` waits for the bytes to reach the disk.
    private let durable: Bool

    init(store: LocalBlobStore, durable: Bool = true) throws {
        self.store = store
        self.durable = durable
        temporary = store.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw BlobStoreError("cannot create \(temporary.path): \(String(cString: strerror(errno))); is the blob store's directory writable?")
        }
    }

    deinit {
        if !finished {
            close(descriptor)
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        var done = 0
        while done < bytes.count {
            let count = Foundation.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw BlobStoreError("cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
            done += count
        }
        size += Int64(bytes.count)
        if durable, size - flushed >= 8 << 20 {
            // Start writing back what is done, without waiting: the fsync of
            // the commit then has little left to do (a slug's commit would
            // otherwise wait a tenth of a second for its whole file).
            _ = kiln_start_writeback(descriptor, flushed, size - flushed)
            flushed = size
        }
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
        guard !finished else { throw BlobStoreError("blob \(temporary.lastPathComponent) was already committed") }
        finished = true
        let synced = !durable || fsync(descriptor) == 0 ? 0 : errno
        close(descriptor)
        guard synced == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw BlobStoreError("cannot write \(temporary.path): \(String(cString: strerror(synced)))")
        }
        let digest = BlobDigest(hasher.finalize())
        guard expected == nil || expected == digest else {
            try? FileManager.default.removeItem(at: temporary)
            return digest
        }
        try store.adopt(temporary, as: digest)
        return digest
    }
}
