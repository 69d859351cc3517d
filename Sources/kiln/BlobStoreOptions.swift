import ArgumentParser
import Foundation
import KilnS3

/// Where the farm keeps slugs and sources: `kiln server`, `kiln worker` and
/// `kiln up` take the same options, and every part of a farm must give the same.
struct BlobStoreOptions: ParsableArguments {
    @Option(help: "The farm's blob store: s3://BUCKET/PREFIX, signed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (default: HOME/blobs).")
    var blobStore: String?
    @Option(help: "The S3-compatible endpoint (MinIO, Ceph, …), addressed path-style (default: AWS).") var s3Endpoint: String?
    @Option(help: "The bucket's region (default: AWS_REGION, else us-east-1).") var s3Region: String?

    /// The object store's settings; `nil` for the directory under the home.
    func settings() throws -> S3Settings? {
        guard let blobStore else {
            if s3Endpoint != nil || s3Region != nil { throw ValidationError("--s3-endpoint and --s3-region need --blob-store s3://BUCKET/PREFIX") }
            return nil
        }
        do {
            return try S3Settings(url: blobStore, endpoint: s3Endpoint, region: s3Region)
        } catch let error as S3Error {
            throw ValidationError(error.description)
        }
    }

    /// The same options, for a `kiln worker` started by `kiln up`.
    var arguments: [String] {
        (blobStore.map { ["--blob-store", $0] } ?? []) + (s3Endpoint.map { ["--s3-endpoint", $0] } ?? []) + (s3Region.map { ["--s3-region", $0] } ?? [])
    }
}
