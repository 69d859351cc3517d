import Foundation

/// The blobs one process works with: a local directory, where blobs are
/// written and read as files, in front of the farm's shared store.
///
/// On a one-host farm the local directory is the farm's store and
/// ``publish(_:)`` has nothing to do. With an object store, a blob written
/// here (a pushed source, a slug) is uploaded before anything names it in the
/// database, and a blob another host wrote is fetched, checked, on first use.
/// Methods block the calling thread on I/O.
public struct BlobStorage: Sendable {
    /// Where this process writes blobs and keeps the ones it fetched.
    public let local: LocalBlobStore
    /// The farm's store, when it is not `local`.
    public let shared: (any BlobStore)?

    public init(local: LocalBlobStore, shared: (any BlobStore)? = nil) {
        self.local = local
        self.shared = shared
    }

    /// The store every host reads from: a directory or `s3://BUCKET/PREFIX`.
    public var location: String { shared?.location ?? local.location }

    /// Checks both stores (see ``BlobStore/check()``).
    public func check() throws {
        try local.check()
        try shared?.check()
    }

    /// Starts writing a new blob in the local directory; ``publish(_:)`` it once committed.
    public func makeWriter() throws -> BlobWriter {
        try local.makeWriter()
    }

    /// Makes a blob written locally readable by every host of the farm.
    public func publish(_ digest: BlobDigest) throws {
        guard let shared else { return }
        try shared.store(local.path(for: digest), as: digest)
    }

    /// Stores small in-memory content (a manifest, a signature) and publishes it.
    public func put(_ data: Data) throws -> BlobDigest {
        let digest = try local.put(data)
        try publish(digest)
        return digest
    }

    /// A local file holding the blob, fetched from the shared store into the
    /// local directory when it is not there yet. Throws an error whose
    /// `isMissing` is set when the farm does not hold it.
    public func file(for digest: BlobDigest) throws -> URL {
        if let shared, !local.contains(digest) {
            try local.ingest(digest, from: shared)
        }
        let path = local.path(for: digest)
        guard FileManager.default.fileExists(atPath: path.path) else { throw BlobStoreError.missing(digest, in: location) }
        return path
    }

    /// Reads a small blob whole.
    public func data(for digest: BlobDigest) throws -> Data {
        try Data(contentsOf: file(for: digest))
    }

    /// Writes a blob to `destination`, checked, without keeping a local copy
    /// of one that came from the shared store: a worker's sources are read once.
    public func copy(_ digest: BlobDigest, to destination: URL) throws {
        if let shared, !local.contains(digest) {
            try shared.retrieve(digest, to: destination)
        } else {
            try local.retrieve(digest, to: destination)
        }
    }

    /// Drops the local copy of a blob the shared store holds: a worker's slugs
    /// would otherwise pile up on its disk. Does nothing without a shared store.
    public func dropLocalCopy(of digest: BlobDigest) {
        guard shared != nil else { return }
        try? FileManager.default.removeItem(at: local.path(for: digest))
    }
}
