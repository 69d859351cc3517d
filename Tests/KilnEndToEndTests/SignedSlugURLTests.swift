import Foundation
import KilnTestSupport
import Testing

/// Signed slug URLs and `kiln slug fetch`, as a release service uses them:
/// the URL works until it expires, byte ranges are served, and anything
/// altered (the signature, the expiry, the slug, the manifest) is refused.
/// Signatures are also made here with Python's hmac from the farm's secret,
/// following docs/slug-protocol.md, as a release service in another language would.
@Suite struct SignedSlugURLTests {
    static func curl(_ arguments: [String]) async throws -> (status: Int, headers: String, body: String) {
        let headers = try TestEnvironment.temporaryDirectory("curl").appendingPathComponent("headers")
        let result = try await sh("curl", ["-s", "-D", headers.path, "-w", "\n%{http_code}"] + arguments)
        var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.removeLast()) ?? 0
        return (status, (try? String(contentsOf: headers, encoding: .utf8)) ?? "", lines.joined(separator: "\n"))
    }

    /// An HMAC-SHA256 signature made outside Kiln, from the secret file and the documented message.
    static func sign(path: String, expires: Int, secretFile: String) async throws -> String {
        try await sh("python3", ["-c", """
            import hmac, hashlib, sys
            secret = open(sys.argv[1], 'rb').read()
            print(hmac.new(secret, f'GET\\n{sys.argv[2]}\\n{sys.argv[3]}'.encode(), hashlib.sha256).hexdigest())
            """, secretFile, path, "\(expires)"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aSignedURLServesTheSlugWithRangesAndFetchRefusesAnythingAltered() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("urls")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "index.html": String(repeating: "<p>slug</p>\n", count: 400)])
            let pushed = try await sh("git", ["push", farm.remote("urls", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            let pem = try TestEnvironment.temporaryDirectory("pem").appendingPathComponent("farm.pem")
            try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)

            let made = try await farm.kiln("slug", "url", "b-1", "--ttl", "15m")
            #expect(made.succeeded, "\(made.output)")
            let url = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let match = try #require(url.firstMatch(of: /\/slugs\/([0-9a-f]{64})\?expires=(\d+)&signature=([0-9a-f]{64})$/), "\(url)")
            let (digest, expires) = (String(match.1), Int(match.2)!)
            #expect(expires > Int(Date().timeIntervalSince1970) + 800)

            // The release side: download, verify, keep.
            let fetched = try TestEnvironment.temporaryDirectory("fetched").appendingPathComponent("slug")
            let fetch = try await farm.kiln("slug", "fetch", url, "--public-key", pem.path, "-o", fetched.path)
            #expect(fetch.succeeded && fetch.output.contains("verified: urls b-1, sha256 \(digest)"), "\(fetch.output)")
            let slugBytes = try Data(contentsOf: fetched.appendingPathComponent("slug.tar.zst"))
            #expect(FileManager.default.fileExists(atPath: fetched.appendingPathComponent("manifest.json.sig").path))

            // Whole, and byte ranges.
            let whole = try await Self.curl([url])
            #expect(whole.status == 200 && whole.headers.lowercased().contains("content-length: \(slugBytes.count)"), "\(whole.headers)")
            #expect(whole.headers.lowercased().contains("accept-ranges: bytes"))
            let first = try await Self.curl(["-r", "0-99", "-o", "/dev/null", url])
            #expect(first.status == 206 && first.headers.lowercased().contains("content-range: bytes 0-99/\(slugBytes.count)"), "\(first.headers)")
            #expect(first.headers.lowercased().contains("content-length: 100"))
            let tail = try TestEnvironment.temporaryDirectory("tail").appendingPathComponent("tail")
            let suffix = try await Self.curl(["-r", "-10", "-o", tail.path, url])
            let tailBytes = try Data(contentsOf: tail)
            #expect(suffix.status == 206 && tailBytes == slugBytes.suffix(10))
            let beyond = try await Self.curl(["-r", "\(slugBytes.count + 5)-", url])
            #expect(beyond.status == 416 && beyond.headers.lowercased().contains("content-range: bytes */\(slugBytes.count)"), "\(beyond.headers)")

            // Tampered, foreign and expired signatures: 403; an unknown slug with a good signature: 404.
            let base = farm.server + "/slugs/\(digest)"
            let flipped = String(url.dropLast()) + (url.hasSuffix("0") ? "1" : "0")
            let tampered = try await Self.curl([flipped])
            #expect(tampered.status == 403 && tampered.body.contains("signature does not match"), "\(tampered.body)")
            let longer = try await Self.curl([base + "?expires=\(expires + 3600)&signature=\(match.3)"])
            #expect(longer.status == 403, "an extended expiry must not verify: \(longer.body)")
            let foreign = try await Self.curl([base + "?expires=\(expires)&signature=" + String(repeating: "ab", count: 32)])
            #expect(foreign.status == 403)
            let secret = farm.home.appendingPathComponent("keys/url-hmac.key").path
            let past = Int(Date().timeIntervalSince1970) - 5
            let expired = try await Self.curl([base + "?expires=\(past)&signature=\(try await Self.sign(path: "/slugs/\(digest)", expires: past, secretFile: secret))"])
            #expect(expired.status == 403 && expired.body.contains("expired"), "\(expired.body)")
            let unknownPath = "/slugs/" + String(repeating: "0", count: 64)
            let unknown = try await Self.curl([farm.server + unknownPath + "?expires=\(expires)&signature=\(try await Self.sign(path: unknownPath, expires: expires, secretFile: secret))"])
            #expect(unknown.status == 404, "\(unknown.body)")
            // The documented signature is the one the farm makes.
            #expect(try await Self.sign(path: "/slugs/\(digest)", expires: expires, secretFile: secret) == String(match.3))

            // A fetch of an altered slug or manifest fails and leaves nothing.
            let blob = { (hex: String) in farm.home.appendingPathComponent("blobs/sha256/\(hex.prefix(2))/\(hex)") }
            let builds = try await farm.kiln("builds", "show", "b-1", "--json")
            let manifestDigest = try #require(builds.output.firstMatch(of: /"manifest_digest" : "([0-9a-f]{64})"/)?.1)
            for (name, file, change) in [("slug", blob(digest), { (data: Data) in data.prefix(data.count - 1) + Data([data.last! ^ 1]) }),
                                         ("manifest", blob(String(manifestDigest)), { (data: Data) in Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "urls", with: "evil").utf8) })] {
                let original = try Data(contentsOf: file)
                chmod(file.path, 0o644)
                try change(original).write(to: file)
                let refused = try TestEnvironment.temporaryDirectory("refused").appendingPathComponent("out")
                let result = try await farm.kiln("slug", "fetch", url, "--public-key", pem.path, "-o", refused.path)
                #expect(!result.succeeded, "\(name): \(result.output)")
                #expect(result.output.contains(name == "slug" ? "the slug was altered" : "signature does not verify"), "\(name): \(result.output)")
                #expect(!FileManager.default.fileExists(atPath: refused.path), "\(name): a refused fetch left files")
                try original.write(to: file)
            }
        }
    }

    @Test func tgzSlugsAndTheSlugSizeLimits() async throws {
        try await KilnFarm.with(workers: 1, options: ["--slug-format", "tgz", "--slug-max-size", "2MB", "--slug-warn-size", "100KB"]) { farm in
            let key = try await farm.createApp("sized")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "index.html": "<p>sized</p>\n"])
            // Random bytes do not compress: the slug is as big as they are.
            try await sh("python3", ["-c", "import os; os.makedirs('assets', exist_ok=True); open('assets/noise', 'wb').write(os.urandom(300_000))"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "noise"], in: repo)
            let warned = try await sh("git", ["push", farm.remote("sized", key: key), "main"], in: repo)
            #expect(warned.succeeded, "\(warned.output)")
            #expect(warned.output.contains(/Slug packed: \d+ bytes, \d+ entries, tar.gz/), "\(warned.output)")
            #expect(warned.output.contains("Warning: the slug is 0.3 MB, over 0.1 MB"), "\(warned.output)")
            #expect(warned.output.contains("Biggest directories (uncompressed): assets 0.3 MB"), "\(warned.output)")

            // A Heroku-style gzip slug, fetched and verified like any other.
            let pem = try TestEnvironment.temporaryDirectory("pem").appendingPathComponent("farm.pem")
            try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
            let url = try await farm.kiln("slug", "url", "b-1").output.trimmingCharacters(in: .whitespacesAndNewlines)
            let fetched = try TestEnvironment.temporaryDirectory("fetched")
            let fetch = try await farm.kiln("slug", "fetch", url, "--public-key", pem.path, "-o", fetched.path)
            #expect(fetch.succeeded, "\(fetch.output)")
            let listing = try await sh("tar", ["-tzf", fetched.appendingPathComponent("slug.tar.gz").path])
            #expect(listing.succeeded && listing.output.contains("app/assets/noise"), "\(listing.output)")

            // Past the limit the build fails and names the biggest directories.
            try await sh("python3", ["-c", "import os; os.makedirs('vendor/blobs', exist_ok=True); open('vendor/blobs/big', 'wb').write(os.urandom(2_500_000))"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "too big"], in: repo)
            let refused = try await sh("git", ["push", farm.remote("sized", key: key), "main"], in: repo)
            #expect(!refused.succeeded)
            #expect(refused.output.contains(/the slug is 2\.\d MB compressed, over this farm's limit of 2\.0 MB\. Biggest directories \(uncompressed\): vendor 2\.5 MB, vendor\/blobs 2\.5 MB, assets 0\.3 MB/), "\(refused.output)")
        }
    }
}
