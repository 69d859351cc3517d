import Foundation
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// Dockerfile apps and exported slugs as OCI images, with the real tools:
/// buildah (rootless, as the build user) builds, a real `docker-registry` on
/// loopback stores, skopeo and umoci inspect and unpack, and each image runs
/// under bubblewrap from its own root file system. The base image is built
/// here from the machine's static busybox, because Docker Hub is out of reach.
@Suite(.serialized) struct ImageBuildTests {
    static func options(_ registry: ImageRegistry, base: String, extra: [String] = []) -> [String] {
        ["--registry", "\(registry.host)/kiln", "--registry-insecure", "--export-base-image", base] + extra
    }

    /// The build arg comes last: buildah 1.28 never takes an `ARG` step
    /// from the registry's cache, and rebuilds every step after it.
    static let dockerfile = """
        ARG BASE
        FROM $BASE
        RUN mkdir -p /srv/www /srv/other && echo "the Procfile's web" > /srv/other/index.html
        COPY start.sh /srv/start.sh
        LABEL org.example.team=platform
        EXPOSE 8080
        ENTRYPOINT ["/bin/sh", "/srv/start.sh"]
        CMD ["/srv/www"]
        ARG GREETING=hello
        RUN echo "$GREETING from a Dockerfile" > /srv/www/index.html
        """

    static func sample(base: String) -> [String: String] {
        ["Dockerfile": dockerfile.replacingOccurrences(of: "ARG BASE\nFROM $BASE", with: "FROM \(base)"),
         "start.sh": "exec httpd -f -p \"$PORT\" -h \"$1\"\n"]
    }

    static func build(_ farm: KilnFarm, _ id: String) async throws -> [String: Any] {
        let shown = try await farm.kiln("builds", "show", id, "--json")
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any], "\(shown.output)")
    }

    static func releases(_ farm: KilnFarm, _ app: String) async throws -> [[String: Any]] {
        let listed = try await farm.kiln("releases", "--app", app, "--json")
        return try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]], "\(listed.output)")
    }

    static func commit(_ repo: URL, _ message: String) async throws {
        try await sh("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", message, "--allow-empty"], in: repo)
    }

    @Test func aDockerfileAppBecomesASignedImageThatRunsAndRebuildsFromItsCache() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let receiverPort = try KilnFarm.freePort()
            let deliveries = try TestEnvironment.temporaryDirectory("deliveries")
            try await withRunning([ReleaseHandoffTests.receiver(port: receiverPort, directory: deliveries)]) {
                try await KilnFarm.waitForListener("http://127.0.0.1:\(receiverPort)/")
                try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base)) { farm in
                    let key = try await farm.createApp("web")
                    let secret = "an-image-hand-off-secret"
                    #expect(try await farm.kiln("apps", "set", "--app", "web", "--release-webhook", "http://127.0.0.1:\(receiverPort)/releases",
                                                "--release-webhook-secret", secret).succeeded)
                    let repo = try await makeGitRepository(Self.sample(base: base))
                    let push = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(push.succeeded, "\(push.output)")
                    // buildah's own lines reach the pusher as they come.
                    #expect(push.output.contains("remote:        STEP 2/9: RUN mkdir -p /srv/www /srv/other"), "\(push.output)")
                    #expect(push.output.contains("remote: -----> Released web v1"))

                    let first = try await Self.build(farm, "b-1")
                    let image = try #require(first["image"] as? String)
                    #expect(image.wholeMatch(of: /127\.0\.0\.1:\d+\/kiln\/web@sha256:[0-9a-f]{64}/) != nil, "\(image)")
                    #expect(first["image_ports"] as? [Int] == [8080])
                    #expect(first["slug_digest"] == nil)
                    let digest = String(image.split(separator: "@")[1])

                    // In the registry by digest, with its labels; tagged b-1 and v1 too.
                    let inspected = try await registry.inspect(image)
                    #expect(inspected["Digest"] as? String == digest)
                    #expect((inspected["Labels"] as? [String: String])?["org.example.team"] == "platform")
                    // `vN` is added once the release is recorded, as the push ends.
                    var tags: [String] = []
                    for _ in 0..<50 where !tags.contains("v1") {
                        tags = try await registry.tags("kiln/web")
                        if !tags.contains("v1") { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(tags.contains("b-1") && tags.contains("v1") && tags.contains(digest.replacingOccurrences(of: ":", with: "-") + ".sig"), "\(tags)")
                    let v1 = try await registry.inspect("\(registry.host)/kiln/web:v1")
                    #expect(v1["Digest"] as? String == digest)

                    // The release and its hand-off name the image by digest, and the signed manifest covers it.
                    let release = try #require(try await Self.releases(farm, "web").first)
                    #expect(release["image"] as? String == image)
                    #expect(release["ports"] as? [Int] == [8080])
                    #expect(release["slug_digest"] == nil)
                    let handoff = try #require(try await ReleaseHandoffTests.waitFor(1, in: deliveries, secret: secret, seconds: 30).first)
                    #expect(handoff.signed)
                    #expect((handoff.body["image"] as? [String: Any])?["reference"] as? String == image)
                    #expect((handoff.body["image"] as? [String: Any])?["ports"] as? [Int] == [8080])
                    #expect(handoff.body["slug"] == nil)
                    #expect((handoff.body["process_types"] as? [String: String])?["web"] == "/bin/sh /srv/start.sh /srv/www")
                    let encodedManifest = try #require(handoff.body["manifest"] as? String)
                    let manifestBytes = try #require(Data(base64Encoded: encodedManifest))
                    let manifest = try #require(try JSONSerialization.jsonObject(with: manifestBytes) as? [String: Any])
                    #expect(manifest["format"] as? String == "oci-image")
                    #expect(manifest["sha256"] as? String == String(digest.dropFirst(7)))
                    #expect((manifest["image"] as? [String: Any])?["reference"] as? String == image)

                    // kiln image verify, and the same check with openssl from the registry's signature artifact.
                    let scratch = try TestEnvironment.temporaryDirectory("verify")
                    let pem = scratch.appendingPathComponent("farm.pem")
                    try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                    let verified = try await farm.kiln("image", "verify", image, "--public-key", pem.path, "--insecure")
                    #expect(verified.succeeded && verified.output.contains("Verified: \(image) was signed by farm key"), "\(verified.output)")
                    try await Self.checkWithOpenSSL(image: image, registry: registry, pem: pem, scratch: scratch)
                    try await sh("openssl", ["genpkey", "-algorithm", "ed25519", "-out", scratch.appendingPathComponent("other.key").path])
                    try await sh("openssl", ["pkey", "-in", scratch.appendingPathComponent("other.key").path, "-pubout", "-out", scratch.appendingPathComponent("other.pem").path])
                    let otherFarm = try await farm.kiln("image", "verify", image, "--public-key", scratch.appendingPathComponent("other.pem").path, "--insecure")
                    #expect(!otherFarm.succeeded && otherFarm.output.contains("does not verify with the farm's public key"), "\(otherFarm.output)")
                    let unsigned = try await farm.kiln("image", "verify", base, "--public-key", pem.path, "--insecure")
                    #expect(!unsigned.succeeded && unsigned.output.contains("has no farm signature"), "\(unsigned.output)")

                    // It runs: ENTRYPOINT + CMD answer on $PORT.
                    let answer = try await ImageRun.serving(image) { $0.body }
                    #expect(answer == "hello from a Dockerfile\n")

                    // An unchanged rebuild takes every step but FROM from the cache: the same image.
                    try await Self.commit(repo, "unchanged")
                    let again = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(again.output.contains("remote: -----> Steps: 9, from the layer cache: 8"), "\(again.output)")
                    #expect(try await Self.build(farm, "b-2")["image"] as? String == image)

                    // A worker with none of these layers (its buildah storage emptied) takes them from the registry's cache.
                    try FileManager.default.removeItem(at: farm.home.appendingPathComponent("cache/images"))
                    try await Self.commit(repo, "another worker")
                    let remote = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(remote.output.contains("Cache pulled from remote \(registry.host)/kiln/web/cache:"), "\(remote.output)")
                    #expect(remote.output.contains("remote: -----> Steps: 9, from the layer cache: 6"), "\(remote.output)")

                    // KILN-CLEAN: true builds without the cache.
                    try await Self.commit(repo, "clean")
                    let clean = try await sh("git", ["-c", "http.extraheader=KILN-CLEAN: true", "push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(clean.output.contains("from the layer cache: 0 (KILN-CLEAN: built without the cache)"), "\(clean.output)")

                    // A Procfile wins over ENTRYPOINT + CMD.
                    try "web: httpd -f -p $PORT -h /srv/other\n".write(to: repo.appendingPathComponent("Procfile"), atomically: true, encoding: .utf8)
                    try await sh("git", ["add", "Procfile"], in: repo)
                    try await Self.commit(repo, "procfile")
                    let procfile = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(procfile.output.contains("Process types: web: httpd -f -p $PORT -h /srv/other"), "\(procfile.output)")
                    let web = try await ReleaseHandoffTests.waitFor(5, in: deliveries, secret: secret, seconds: 30).last
                    let command = try #require((web?.body["process_types"] as? [String: String])?["web"])
                    #expect(command == "httpd -f -p $PORT -h /srv/other")
                    let newest = try #require(try await Self.releases(farm, "web").first?["image"] as? String)
                    #expect(try await ImageRun.serving(newest, command: command) { $0.body } == "the Procfile's web\n")

                    // Config vars become build args only when the app opts in.
                    #expect(try await farm.kiln("config", "set", "--app", "web", "GREETING=bonjour").succeeded)
                    try await Self.commit(repo, "config, args off")
                    let argsOff = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(!argsOff.output.contains("build args"), "\(argsOff.output)")
                    #expect(try await farm.kiln("apps", "set", "--app", "web", "--docker-build-args", "on").succeeded)
                    try await Self.commit(repo, "config, args on")
                    let argsOn = try await sh("git", ["push", farm.remote("web", key: key), "main"], in: repo)
                    #expect(argsOn.output.contains("Config vars passed as build args (docker-build-args on): GREETING"), "\(argsOn.output)")
                    let greeted = try #require(try await Self.releases(farm, "web").first?["image"] as? String)
                    #expect(try await ImageRun.serving(greeted) { $0.body } == "bonjour from a Dockerfile\n")
                }
            }
        }
    }

    /// What a release service without Kiln does: fetch `REPO:sha256-HEX.sig`
    /// with skopeo, and check its payload and signature with openssl.
    static func checkWithOpenSSL(image: String, registry: ImageRegistry, pem: URL, scratch: URL) async throws {
        let parts = image.split(separator: "@").map(String.init)
        let signatureImage = "\(parts[0]):\(parts[1].replacingOccurrences(of: ":", with: "-")).sig"
        let directory = scratch.appendingPathComponent("sig")
        let copied = try await sh("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(signatureImage)", "dir:\(directory.path)"])
        #expect(copied.succeeded, "\(copied.output)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("manifest.json"))) as? [String: Any])
        let layer = try #require((manifest["layers"] as? [[String: Any]])?.first)
        let payload = directory.appendingPathComponent(String((layer["digest"] as? String ?? "").dropFirst(7)))
        let signature = try #require(Data(base64Encoded: (layer["annotations"] as? [String: String])?["dev.kiln.signature"] ?? ""))
        try signature.write(to: scratch.appendingPathComponent("payload.sig"))
        let checked = try await sh("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", payload.path,
                                               "-sigfile", scratch.appendingPathComponent("payload.sig").path])
        #expect(checked.output.contains("Signature Verified Successfully"), "\(checked.output)")
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: payload)) as? [String: Any])
        let critical = claims["critical"] as? [String: Any]
        #expect((critical?["image"] as? [String: Any])?["docker-manifest-digest"] as? String == parts[1])
        #expect((critical?["identity"] as? [String: Any])?["docker-reference"] as? String == parts[0])
    }
}
