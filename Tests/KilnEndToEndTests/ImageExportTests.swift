import Foundation
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// Slugs exported as OCI images: one deterministic layer at /app on the
/// stack image, the same digest wherever the same slug is exported.
extension ImageBuildTests {
    static let slugApp = [
        "Procfile": "web: httpd -f -p $PORT -h /app/www\nworker: sleep 1000\n",
        "www/index.html": "served from a slug\n",
    ]

    @Test func aSlugExportedOnTwoWorkersIsOneImageThatRuns() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base)) { farm in
                let key = try await farm.createApp("exported")
                let set = try await farm.kiln("apps", "set", "--app", "exported", "--export-image", "on")
                #expect(set.output.contains("export image on"), "\(set.output)")
                let repo = try await makeGitRepository(Self.slugApp)
                let push = try await sh("git", ["push", farm.remote("exported", key: key), "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
                #expect(push.output.contains("remote: -----> Slug exported as \(registry.host)/kiln/exported@sha256:"), "\(push.output)")

                let build = try await Self.build(farm, "b-1")
                let image = try #require(build["image"] as? String)
                let signatureDigest = try #require(build["signature_digest"] as? String)
                let slugDigest = try #require(build["slug_digest"] as? String)

                // Labels, command and the slug's signature as an annotation.
                let manifest = try await registry.manifest(image)
                let annotations = manifest["annotations"] as? [String: String] ?? [:]
                #expect(annotations["dev.kiln.slug.signature"] == "sha256:\(signatureDigest)")
                #expect(annotations["org.opencontainers.image.base.name"] == base)
                let config = try await registry.inspect(image, config: true)["config"] as? [String: Any] ?? [:]
                let labels = config["Labels"] as? [String: String] ?? [:]
                #expect(labels["dev.kiln.process.web"] == "httpd -f -p $PORT -h /app/www")
                #expect(labels["dev.kiln.process.worker"] == "sleep 1000")
                #expect(labels["dev.kiln.slug.sha256"] == slugDigest)
                #expect((config["Cmd"] as? [String])?.last?.hasSuffix("httpd -f -p $PORT -h /app/www") == true)
                #expect(config["WorkingDir"] as? String == "/app")

                // The slug layer: /app only, owned by root, mtime 0, sorted.
                let layers = manifest["layers"] as? [[String: Any]] ?? []
                let baseLayers = try await registry.manifest(base)["layers"] as? [[String: Any]] ?? []
                #expect(layers.count == baseLayers.count + 1)
                let layout = try TestEnvironment.temporaryDirectory("export-layout")
                try await Command("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(image)", "dir:\(layout.path)"]).check()
                let layerFile = layout.appendingPathComponent(String((layers.last?["digest"] as? String ?? "").dropFirst(7)))
                let listing = try await sh("tar", ["--numeric-owner", "-tvzf", layerFile.path])
                let lines = listing.output.split(separator: "\n")
                #expect(lines.map { $0.split(separator: " ").last.map(String.init) ?? "" } == ["app/", "app/Procfile", "app/www/", "app/www/index.html"], "\(listing.output)")
                #expect(lines.allSatisfy { $0.contains(" 0/0 ") && $0.contains("1970-01-01") }, "\(listing.output)")

                // Another worker (its own home and scratch, the farm's key and blobs) exports the same slug: the same digest, nothing new stored.
                let other = try TestEnvironment.temporaryDirectory("other-worker")
                try FileManager.default.createDirectory(at: other.appendingPathComponent("keys"), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: farm.home.appendingPathComponent("keys/farm-ed25519.pem"), to: other.appendingPathComponent("keys/farm-ed25519.pem"))
                try FileManager.default.createSymbolicLink(at: other.appendingPathComponent("blobs"), withDestinationURL: farm.home.appendingPathComponent("blobs"))
                let blobsBefore = try Self.registryBlobs(registry)
                let database = LocalPostgres(directory: farm.home.appendingPathComponent("postgres"), logger: TestEnvironment.logger).url
                let exported = try await sh(TestEnvironment.binary, ["images", "export", "b-1", "--home", other.path, "--database-url", database,
                                                                     "--registry", "\(registry.host)/kiln", "--registry-insecure", "--export-base-image", base])
                #expect(exported.succeeded, "\(exported.output)")
                #expect(exported.output.split(separator: "\n").last.map(String.init) == image, "\(exported.output)")
                #expect(try Self.registryBlobs(registry) == blobsBefore)

                // A rebuild of the same tree: the same layer and config; only the manifest (its signature annotation) is new.
                try await Self.commit(repo, "rebuild")
                #expect(try await sh("git", ["push", farm.remote("exported", key: key), "main"], in: repo).succeeded)
                let rebuilt = try #require(try await Self.build(farm, "b-2")["image"] as? String)
                let rebuiltManifest = try await registry.manifest(rebuilt)
                #expect((rebuiltManifest["layers"] as? [[String: Any]])?.map { $0["digest"] as? String } == layers.map { $0["digest"] as? String })
                #expect((rebuiltManifest["config"] as? [String: Any])?["digest"] as? String == (manifest["config"] as? [String: Any])?["digest"] as? String)

                // It runs its web process, and the farm's signature verifies.
                #expect(try await ImageRun.serving(image) { $0.body } == "served from a slug\n")
                let pem = other.appendingPathComponent("farm.pem")
                try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                let verified = try await farm.kiln("image", "verify", image, "--public-key", pem.path, "--insecure")
                #expect(verified.output.contains("(app exported, build b-1)"), "\(verified.output)")

                // An image build has no slug to export.
                let appKey = try await farm.createApp("docker")
                let dockerRepo = try await makeGitRepository(Self.sample(base: base))
                #expect(try await sh("git", ["push", farm.remote("docker", key: appKey), "main"], in: dockerRepo).succeeded)
                let refused = try await sh(TestEnvironment.binary, ["images", "export", "b-3", "--home", other.path, "--database-url", database,
                                                                    "--registry", "\(registry.host)/kiln", "--registry-insecure", "--export-base-image", base])
                #expect(!refused.succeeded && refused.output.contains("made an image, not a slug"), "\(refused.output)")
            }
        }
    }

    /// The blobs the registry stores (layers, configs, manifests), by digest.
    static func registryBlobs(_ registry: ImageRegistry) throws -> Set<String> {
        let root = registry.storage.appendingPathComponent("docker/registry/v2/blobs/sha256")
        var found = Set<String>()
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            for blob in (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(prefix).path)) ?? [] { found.insert(blob) }
        }
        return found
    }
}
