import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// A farm whose server and worker share nothing but PostgreSQL and an
/// S3-compatible store (moto on loopback, checking signatures): the pushed
/// source and the slug can only travel through the bucket.
@Suite struct ObjectStoreFarmTests {
    /// One farm, one key: a worker on another host signs with the key the
    /// server publishes, and opens config sealed with the server's key.
    static func shareKeys(from serverHome: URL, to workerHome: URL) throws {
        let keys = workerHome.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        for name in ["farm-ed25519.pem", "config-aes256.key"] {
            try FileManager.default.copyItem(at: serverHome.appendingPathComponent("keys/\(name)"), to: keys.appendingPathComponent(name))
        }
    }

    @Test func aPushIsBuiltAndItsSlugServedThroughTheBucketAlone() async throws {
        try await ObjectStoreServer.with { s3 in
            try await s3.createBucket("farm-blobs")
            let database = try await TestEnvironment.freshDatabase()
            let serverHome = try TestEnvironment.temporaryDirectory("s3-server"), workerHome = try TestEnvironment.temporaryDirectory("s3-worker")
            let port = try KilnFarm.freePort()
            let store = ["--blob-store", "s3://farm-blobs/kiln", "--s3-endpoint", s3.endpoint]
            let environment = s3.environment.merging(["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]) { $1 }
            let server = Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", serverHome.path, "--port", "\(port)"] + store + TestEnvironment.trustedFetchOptions,
                                 environment: environment)
            try await withRunning([server]) {
                try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: serverHome.appendingPathComponent("none"))
                try ObjectStoreFarmTests.shareKeys(from: serverHome, to: workerHome)
                let worker = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", workerHome.path] + store + TestEnvironment.trustedFetchOptions, environment: environment)
                try await withRunning([worker]) {
                    let token = "kiln_admin_test_\(UUID().uuidString)"
                    try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
                    let farm = KilnFarm(home: serverHome, port: port, server: "http://127.0.0.1:\(port)", token: token)
                    let key = try await farm.createApp("bucketed")
                    let buildpack = try await makeGitRepository([
                        "bin/detect*": "#!/bin/sh\necho Bucketed\n",
                        "bin/compile*": "#!/bin/sh\ncp \"$1/greeting\" \"$1/served\"\n",
                    ])
                    let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "greeting": "hello from the bucket\n",
                                                            ".buildpacks": "file://\(buildpack.path)#main\n"])
                    let pushed = try await sh("git", ["push", farm.remote("bucketed", key: key), "main"], in: repo)
                    #expect(pushed.succeeded, "\(pushed.output)")
                    #expect(pushed.output.contains("Slug uploaded to s3://farm-blobs/kiln"), "\(pushed.output)")

                    let show = try await farm.kiln("builds", "show", "b-1", "--json")
                    let build = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
                    let slug = try #require(build["slug_digest"] as? String)
                    let source = try #require(build["source_digest"] as? String)
                    let stored = try await s3.keys(in: "farm-blobs")
                    for digest in [slug, source, try #require(build["manifest_digest"] as? String), try #require(build["signature_digest"] as? String)] {
                        #expect(stored.contains("kiln/sha256/\(digest.prefix(2))/\(digest)"), "\(digest) in \(stored)")
                    }
                    // The worker kept neither the source it fetched nor the slug it uploaded.
                    for digest in [slug, source] {
                        #expect(!FileManager.default.fileExists(atPath: workerHome.appendingPathComponent("blobs/sha256/\(digest.prefix(2))/\(digest)").path))
                    }

                    // The release side fetches by signed URL: the server streams the slug it fetched from the bucket.
                    let pem = try TestEnvironment.temporaryDirectory("pem").appendingPathComponent("farm.pem")
                    try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                    let url = try await farm.kiln("slug", "url", "b-1").output.trimmingCharacters(in: .whitespacesAndNewlines)
                    let fetched = try TestEnvironment.temporaryDirectory("fetched").appendingPathComponent("slug")
                    let fetch = try await farm.kiln("slug", "fetch", url, "--public-key", pem.path, "-o", fetched.path)
                    #expect(fetch.succeeded, "\(fetch.output)")
                    let unpacked = fetched.deletingLastPathComponent().appendingPathComponent("unpacked")
                    let unpack = try await farm.kiln("slug", "unpack", fetched.appendingPathComponent("slug.tar.zst").path, "-C", unpacked.path)
                    #expect(unpack.succeeded, "\(unpack.output)")
                    #expect(try String(contentsOf: unpacked.appendingPathComponent("app/served"), encoding: .utf8) == "hello from the bucket\n")
                }
            }
        }
    }

    @Test func aWorkerWithWrongCredentialsStopsAtOnceSayingWhy() async throws {
        try await ObjectStoreServer.with { s3 in
            try await s3.createBucket("farm-blobs")
            let database = try await TestEnvironment.freshDatabase()
            let home = try TestEnvironment.temporaryDirectory("s3-bad")
            let worker = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path,
                                                          "--blob-store", "s3://farm-blobs", "--s3-endpoint", s3.endpoint],
                                 environment: ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": "wrong",
                                               "KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path])
            let outcome = try await worker.run(limit: 1 << 20)
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("refused these credentials"), "\(outcome.output)")
            #expect(outcome.output.contains("AWS_SECRET_ACCESS_KEY"))

            let missing = try await sh(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--blob-store", "s3://farm-blobs"],
                                       environment: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
            #expect(!missing.succeeded)
            #expect(missing.output.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "\(missing.output)")
        }
    }
}

/// The release hand-off when a worker dies between uploading a slug and
/// recording the build: the build is rescued, and the release service hears
/// of the release once.
@Suite struct HandoffAfterCrashTests {
    @Test func aWorkerKilledRightAfterTheUploadLeadsToOneReleaseHandedOffOnce() async throws {
        try await ObjectStoreServer.with { s3 in
            try await s3.createBucket("farm-blobs")
            let database = try await TestEnvironment.freshDatabase()
            let serverHome = try TestEnvironment.temporaryDirectory("crash-server"), workerHome = try TestEnvironment.temporaryDirectory("crash-worker")
            let inbox = try TestEnvironment.temporaryDirectory("crash-inbox"), failpoints = try TestEnvironment.temporaryDirectory("failpoints")
            let port = try KilnFarm.freePort(), receiverPort = try KilnFarm.freePort()
            let store = ["--blob-store", "s3://farm-blobs", "--s3-endpoint", s3.endpoint]
            let environment = s3.environment.merging(["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]) { $1 }
            let server = Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", serverHome.path, "--port", "\(port)"] + store + TestEnvironment.trustedFetchOptions,
                                 environment: environment)
            let secret = "the-release-service-shared-secret"
            try await withRunning([server, ReleaseHandoffTests.receiver(port: receiverPort, directory: inbox)]) {
                try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: serverHome.appendingPathComponent("none"))
                try ObjectStoreFarmTests.shareKeys(from: serverHome, to: workerHome)
                let token = "kiln_admin_test_\(UUID().uuidString)"
                try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
                let farm = KilnFarm(home: serverHome, port: port, server: "http://127.0.0.1:\(port)", token: token)
                let key = try await farm.createApp("crashy")
                _ = try await farm.kiln("apps", "set", "--app", "crashy", "--release-webhook", "http://127.0.0.1:\(receiverPort)/releases",
                                        "--release-webhook-secret", secret)
                let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])

                // The first worker dies by SIGKILL right after its upload.
                FileManager.default.createFile(atPath: failpoints.appendingPathComponent("after-upload").path, contents: nil)
                let worker = { (name: String, failing: Bool) in
                    Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", workerHome.path, "--name", name, "--lease", "3"] + store + TestEnvironment.trustedFetchOptions,
                            environment: environment.merging(failing ? ["KILN_FAILPOINTS": failpoints.path] : [:]) { $1 })
                }
                let remote = farm.remote("crashy", key: key)
                let push = Task { try await sh("git", ["push", remote, "main"], in: repo) }
                let doomed = try await worker("doomed", true).run()
                #expect(doomed.status == 128 + SIGKILL, "\(doomed.output)")
                let before = try #require(try JSONSerialization.jsonObject(with: Data(try await farm.kiln("builds", "show", "b-1", "--json").output.utf8)) as? [String: Any])
                #expect(before["state"] as? String == "running")
                let slugKeys = try await s3.keys(in: "farm-blobs")
                #expect(slugKeys.count >= 4, "the source, slug, manifest and signature were uploaded: \(slugKeys)")

                // Another worker rescues the build once the lease runs out.
                try await withRunning([worker("survivor", false)]) {
                    let pushed = try await push.value
                    #expect(pushed.succeeded, "\(pushed.output)")
                    let delivered = try await ReleaseHandoffTests.waitFor(1, in: inbox, secret: secret, seconds: 30)
                    // Time for a second delivery, were there one to come.
                    try await Task.sleep(for: .seconds(3))
                    let deliveries = try await ReleaseHandoffTests.deliveries(inbox, secret: secret)
                    #expect(delivered.count == 1 && deliveries.count == 1, "\(deliveries.map(\.key))")
                    #expect(deliveries.first?.key == "b-1" && deliveries.first?.signed == true)
                    let after = try #require(try JSONSerialization.jsonObject(with: Data(try await farm.kiln("builds", "show", "b-1", "--json").output.utf8)) as? [String: Any])
                    #expect(after["state"] as? String == "succeeded" && after["attempts"] as? Int == 2, "\(after)")
                    let releases = try await farm.kiln("releases", "--app", "crashy", "--json")
                    #expect(releases.output.components(separatedBy: "\"version\"").count == 2, "one release: \(releases.output)")
                }
            }
        }
    }
}
