import Foundation
import KilnBlobStore

/// Blobs in an S3-compatible bucket, at `PREFIX/sha256/AB/ABCDEF…` as in a
/// local store. Uploads stream from the file (in parts above
/// `multipartThreshold`), downloads stream to the file and are checked
/// against their digest. Blocks the calling thread.
public struct S3BlobStore: BlobStore {
    public let client: S3Client

    public init(client: S3Client) {
        self.client = client
    }

    public init(settings: S3Settings) {
        self.init(client: S3Client(settings: settings))
    }

    var settings: S3Settings { client.settings }

    public var location: String { settings.url }

    /// The object key of a blob.
    func key(for digest: BlobDigest) -> String {
        let relative = "sha256/\(digest.hex.prefix(2))/\(digest.hex)"
        return settings.prefix.isEmpty ? relative : "\(settings.prefix)/\(relative)"
    }

    /// Fails with a clear error unless the bucket answers to these credentials:
    /// run at start-up, so that a wrong key stops a server, not its first build.
    public func check() throws {
        let answer = try client.withRetries("reach the bucket") { try client.attempt("HEAD", key: "") }
        switch answer.status {
        case 200...299: return
        case 301, 400: throw S3Error("the bucket \(settings.bucket) answered HTTP \(answer.status): is it in another region than \(settings.region)? Set --s3-region", status: answer.status)
        case 403: throw S3Error("\(settings.url) refused these credentials (HTTP 403): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and --s3-region", status: 403)
        case 404: throw S3Error("the bucket \(settings.bucket) does not exist at \(settings.endpoint ?? "AWS"): create it, or correct --blob-store", status: 404)
        default: throw client.failure("reach the bucket", answer)
        }
    }

    public func contains(_ digest: BlobDigest) throws -> Bool {
        try size(of: digest) != nil
    }

    /// The stored blob's size, `nil` when it is not stored.
    public func size(of digest: BlobDigest) throws -> Int64? {
        let answer = try client.withRetries("look up blob \(digest)") { try client.attempt("HEAD", key: key(for: digest)) }
        switch answer.status {
        case 200...299: return answer.contentLength ?? 0
        case 404: return nil
        default: throw client.failure("look up blob \(digest)", answer)
        }
    }

    public func store(_ file: URL, as digest: BlobDigest) throws {
        guard try !contains(digest) else { return }
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw S3Error("cannot read \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw S3Error("cannot read \(file.path): \(String(cString: strerror(errno)))") }
        let size = Int64(info.st_size)
        if size > settings.multipartThreshold {
            try uploadInParts(descriptor, size: size, key: key(for: digest), digestHex: digest.hex, what: "store blob \(digest)")
        } else {
            // The blob's name is its SHA-256, so S3 checks the bytes it receives against it.
            let answer = try client.withRetries("store blob \(digest)") {
                try client.attempt("PUT", key: key(for: digest), body: .file(descriptor: descriptor, offset: 0, length: size, sha256: digest.hex),
                                   headers: ["Content-Type: application/octet-stream"])
            }
            guard (200...299).contains(answer.status) else { throw client.failure("store blob \(digest)", answer) }
        }
    }

    public func retrieve(_ digest: BlobDigest, to destination: URL) throws {
        let descriptor = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw S3Error("cannot create \(destination.path): \(String(cString: strerror(errno)))") }
        var kept = false
        defer {
            close(descriptor)
            if !kept { try? FileManager.default.removeItem(at: destination) }
        }
        let answer = try client.withRetries("fetch blob \(digest)", prepare: {
            // A retry starts the file over.
            guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
                throw S3Error("cannot rewrite \(destination.path): \(String(cString: strerror(errno)))")
            }
        }) {
            try client.attempt("GET", key: key(for: digest), into: descriptor)
        }
        if answer.status == 404, answer.s3Error?.code != "NoSuchBucket" {
            throw BlobStoreError.missing(digest, in: location)
        }
        guard (200...299).contains(answer.status) else { throw client.failure("fetch blob \(digest)", answer) }
        guard try BlobDigest.of(file: destination) == digest else {
            throw BlobStoreError("blob \(digest) in \(location) is corrupt: the \(answer.bytes) bytes fetched have another digest")
        }
        // On disk before anyone takes the file for the blob (a local store trusts what it holds).
        guard fsync(descriptor) == 0 else { throw S3Error("cannot write \(destination.path): \(String(cString: strerror(errno)))") }
        kept = true
    }
}
