import Foundation
import KilnBlobStore

extension BlobStorage {
    /// The blob storage of a process with its local directory at `directory`,
    /// in front of the bucket `s3` names (or alone, when `s3` is `nil`).
    public static func open(directory: URL, s3: S3Settings?) throws -> BlobStorage {
        BlobStorage(local: try LocalBlobStore(root: directory), shared: s3.map { S3BlobStore(settings: $0) })
    }
}
