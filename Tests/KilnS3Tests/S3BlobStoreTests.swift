import Foundation
import KilnBlobStore
@testable import KilnS3
import KilnTestSupport
import Testing

/// The S3 blob store against a real S3-compatible server (moto, checking
/// signatures), directly and through a proxy that fails some requests.
@Suite struct S3BlobStoreTests {
    /// Settings for a fresh bucket on `server`, with parts small enough that a test file of a few MB goes up in several.
    static func settings(_ server: ObjectStoreServer, endpoint: String? = nil, secret: String? = nil) -> S3Settings {
        var settings = S3Settings(bucket: "kiln-\(UUID().uuidString.prefix(8).lowercased())", prefix: "farm/one", endpoint: endpoint ?? server.endpoint,
                                  accessKey: server.accessKey, secretKey: secret ?? server.secretKey)
        settings.multipartThreshold = 6 << 20
        settings.partSize = 5 << 20
        settings.backoff = .milliseconds(20)
        return settings
    }

    /// A file of `size` random bytes, and its digest.
    static func randomFile(_ size: Int, in directory: URL) throws -> (URL, BlobDigest) {
        let file = directory.appendingPathComponent(UUID().uuidString)
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { random in
                for offset in 0..<min(8, size - index) { bytes[index + offset] = random[offset] }
            }
        }
        try Data(bytes).write(to: file)
        return (file, try BlobDigest.of(file: file))
    }

    @Test func blobsGoUpWholeOrInPartsAndComeBackChecked() async throws {
        try await ObjectStoreServer.with { server in
            let scratch = try TestEnvironment.temporaryDirectory("s3")
            let settings = Self.settings(server)
            try S3Client(settings: settings).createBucket()
            let store = S3BlobStore(settings: settings)
            try store.check()

            for size in [0, 1000, 12 * 1024 * 1024 + 17] {
                let (file, digest) = try Self.randomFile(size, in: scratch)
                #expect(try !store.contains(digest))
                try store.store(file, as: digest)
                #expect(try store.size(of: digest) == Int64(size), "\(size) bytes")
                try store.store(file, as: digest)  // a second time: nothing to do
                let back = scratch.appendingPathComponent("back-\(size)")
                try store.retrieve(digest, to: back)
                #expect(try Data(contentsOf: back) == Data(contentsOf: file), "\(size) bytes round trip")
                // S3 names a multipart object's ETag after its number of parts.
                let head = try store.client.attempt("HEAD", key: store.key(for: digest))
                #expect(head.etag.hasSuffix("-3\"") == (size > settings.multipartThreshold), "\(size) bytes: ETag \(head.etag)")
            }

            // Under the prefix, named like a local store's files.
            let (file, digest) = try Self.randomFile(10, in: scratch)
            try store.store(file, as: digest)
            let keys = try await server.keys(in: settings.bucket)
            #expect(keys.contains("farm/one/sha256/\(digest.hex.prefix(2))/\(digest.hex)"), "\(keys)")
            // No multipart upload is left open.
            #expect(try await server.openUploads(in: settings.bucket).isEmpty)
        }
    }

    @Test func aMissingBlobIsMissingAndACorruptOneIsRefusedLeavingNothing() async throws {
        try await ObjectStoreServer.with { server in
            let scratch = try TestEnvironment.temporaryDirectory("s3")
            let settings = Self.settings(server)
            let client = S3Client(settings: settings)
            try client.createBucket()
            let store = S3BlobStore(client: client)
            let (file, digest) = try Self.randomFile(4096, in: scratch)
            let destination = scratch.appendingPathComponent("out")

            #expect { try store.retrieve(digest, to: destination) } throws: { ($0 as? BlobStoreError)?.isMissing == true }
            #expect(!FileManager.default.fileExists(atPath: destination.path))

            // Other bytes under the blob's name, put there behind the store's back (unsigned payload).
            let (other, _) = try Self.randomFile(4096, in: scratch)
            let descriptor = open(other.path, O_RDONLY)
            defer { close(descriptor) }
            let put = try client.attempt("PUT", key: store.key(for: digest), body: .file(descriptor: descriptor, offset: 0, length: 4096, sha256: nil))
            #expect(put.status == 200)
            #expect { try store.retrieve(digest, to: destination) } throws: { "\($0)".contains("is corrupt") }
            #expect(!FileManager.default.fileExists(atPath: destination.path))
            _ = file
        }
    }

    @Test func partsThatAreNotTheBlobAreNeverCompleted() async throws {
        try await ObjectStoreServer.with { server in
            let scratch = try TestEnvironment.temporaryDirectory("s3")
            let settings = Self.settings(server)
            try S3Client(settings: settings).createBucket()
            let store = S3BlobStore(settings: settings)
            // Twelve MB named after other bytes (a file that changed since it was hashed): every part checks, the whole does not.
            let (file, _) = try Self.randomFile(12 << 20, in: scratch)
            let (_, claimed) = try Self.randomFile(10, in: scratch)
            #expect { try store.store(file, as: claimed) } throws: { "\($0)".contains("the file changed while it was uploaded") }
            #expect(try !store.contains(claimed))
            #expect(try await server.openUploads(in: settings.bucket).isEmpty, "the upload was aborted")
        }
    }

    @Test func wrongCredentialsAreNamedAsSuch() async throws {
        try await ObjectStoreServer.with { server in
            let scratch = try TestEnvironment.temporaryDirectory("s3")
            let good = Self.settings(server)
            try S3Client(settings: good).createBucket()
            var bad = good
            bad.secretKey = "not-the-secret"
            let store = S3BlobStore(settings: bad)
            #expect { try store.check() } throws: { "\($0)".contains("refused these credentials") && "\($0)".contains("AWS_SECRET_ACCESS_KEY") }
            let (file, digest) = try Self.randomFile(100, in: scratch)
            #expect { try S3BlobStore(settings: bad).store(file, as: digest) } throws: { error in
                // A HEAD answer has no body: the status says it.
                "\(error)".contains("403")
            }
            #expect { try S3Client(settings: bad).createBucket() } throws: { "\($0)".contains("SignatureDoesNotMatch") && "\($0)".contains("check AWS_ACCESS_KEY_ID") }
            var missing = good
            missing.bucket = "no-such-bucket-here"
            #expect { try S3BlobStore(settings: missing).check() } throws: { "\($0)".contains("does not exist") }
        }
    }

    @Test func failedRequestsAreRetriedUntilTheyGoThrough() async throws {
        try await ObjectStoreServer.with { server in
            let scratch = try TestEnvironment.temporaryDirectory("s3")
            let port = try KilnFarm.freePort()
            try await withRunning([ObjectStoreServer.faultyProxy(to: server.endpoint, port: port, directory: scratch)]) {
                var settings = Self.settings(server, endpoint: "http://127.0.0.1:\(port)")
                settings.attempts = 6
                let retries = RetryLog()
                let client = S3Client(settings: settings, onRetry: { retries.add($0) })
                for _ in 0..<50 where (try? client.createBucket()) == nil { try await Task.sleep(for: .milliseconds(100)) }
                let store = S3BlobStore(client: client)
                for size in [2000, 11 * 1024 * 1024] {
                    let (file, digest) = try Self.randomFile(size, in: scratch)
                    try store.store(file, as: digest)
                    let back = scratch.appendingPathComponent("back-\(size)")
                    try store.retrieve(digest, to: back)
                    #expect(try Data(contentsOf: back) == Data(contentsOf: file))
                }
                let faults = Int((try? String(contentsOf: scratch.appendingPathComponent("faults"), encoding: .utf8)) ?? "0") ?? 0
                #expect(faults >= 3, "the proxy failed \(faults) requests")
                #expect(retries.lines.count >= faults - 1, "\(retries.lines)")
                #expect(retries.lines.contains { $0.contains("503 SlowDown") })
            }
        }
    }

    @Test func aStoreThatStaysDownFailsWithTheCause() async throws {
        let port = try KilnFarm.freePort()
        var settings = S3Settings(bucket: "nowhere", endpoint: "http://127.0.0.1:\(port)", accessKey: "a", secretKey: "b")
        settings.attempts = 3
        settings.backoff = .milliseconds(10)
        #expect { try S3BlobStore(settings: settings).check() } throws: { "\($0)".contains("after 3 tries") }
    }

    @Test func settingsComeFromAnS3URLAndTheEnvironment() throws {
        let settings = try S3Settings(url: "s3://slugs/prod/eu/", endpoint: "http://127.0.0.1:9000/", region: nil,
                                      environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-3"])
        #expect(settings.bucket == "slugs" && settings.prefix == "prod/eu" && settings.region == "eu-west-3")
        #expect(settings.objectURL("prod/eu/a b") == "http://127.0.0.1:9000/slugs/prod/eu/a%20b")
        let aws = try S3Settings(url: "s3://slugs", endpoint: nil, region: "us-west-2", environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(aws.objectURL("k") == "https://slugs.s3.us-west-2.amazonaws.com/k")
        #expect(throws: S3Error.self) { try S3Settings(url: "s3://slugs", endpoint: nil, region: nil, environment: [:]) }
        #expect { try S3Settings(url: "gs://slugs", endpoint: nil, region: nil, environment: [:]) } throws: { "\($0)".contains("s3://BUCKET/PREFIX") }
        #expect { try S3Settings(url: "s3://Bad_Bucket", endpoint: nil, region: nil, environment: ["AWS_ACCESS_KEY_ID": "i", "AWS_SECRET_ACCESS_KEY": "s"]) } throws: { "\($0)".contains("valid bucket") }
    }
}

/// Retry messages, collected from the client's callback.
final class RetryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    func add(_ line: String) { lock.withLock { collected.append(line) } }
    var lines: [String] { lock.withLock { collected } }
}
