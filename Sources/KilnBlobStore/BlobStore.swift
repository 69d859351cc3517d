import Foundation

/// A farm's store of content-addressed blobs (source archives, slugs,
/// manifests, signatures): a local directory, or an S3-compatible object
/// store that every host of the farm reaches.
///
/// A blob is stored under the SHA-256 of its bytes, written once and never
/// changed, so storing it twice is harmless and a reader checks what it got
/// against its name. Methods block the calling thread on I/O.
public protocol BlobStore: Sendable {
    /// Where the store is, for messages: a directory or `s3://BUCKET/PREFIX`.
    var location: String { get }

    /// Fails with an error that says what to fix unless the store can be
    /// used: run at start-up, so that a wrong key stops a process, not its first build.
    func check() throws

    /// Whether the blob is stored.
    func contains(_ digest: BlobDigest) throws -> Bool

    /// Stores the content of `file` as `digest`, which the caller computed
    /// from that content. A blob already stored is left as it is.
    func store(_ file: URL, as digest: BlobDigest) throws

    /// Writes the blob to `destination`, created or replaced, and checks its
    /// digest. Throws an error whose `isMissing` is set when the store does
    /// not hold it; on any failure nothing is left at `destination`.
    func retrieve(_ digest: BlobDigest, to destination: URL) throws
}
