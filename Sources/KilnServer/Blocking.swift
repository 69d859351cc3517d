import Foundation
import Hummingbird
import KilnBlobStore

/// Runs a blocking call (libcurl, file I/O) on a thread of its own, off the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The path of a local file holding the blob, fetched (and checked) from the
/// farm's object store on first use; 404 when the farm does not hold it.
func localFile(_ digest: BlobDigest, blobs: BlobStorage) async throws -> String {
    do {
        return try await onThread { try blobs.file(for: digest).path }
    } catch let error as BlobStoreError where error.isMissing {
        throw HTTPError(.notFound, message: "the blob \(digest.hex) is not in this farm's store")
    }
}
