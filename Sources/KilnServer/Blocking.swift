import Foundation
import Hummingbird
import KilnBlobStore
import KilnProcess

/// The path of a local file holding the blob, fetched (and checked) from the
/// farm's object store on first use; 404 when the farm does not hold it.
func localFile(_ digest: BlobDigest, blobs: BlobStorage) async throws -> String {
    do {
        return try await onThread { try blobs.file(for: digest).path }
    } catch let error as BlobStoreError where error.isMissing {
        throw HTTPError(.notFound, message: "the blob \(digest.hex) is not in this farm's store")
    }
}
