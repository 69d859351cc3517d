import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Each way an image build goes wrong fails the push with a message that
/// names the problem, and leaves no release and no image behind.
extension ImageBuildTests {
    @Test func badImageBuildsFailByNameAndReleaseNothing() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let limits = ["--build-time-limit", "20", "--image-context-limit", "1MB"]
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base, extra: limits)) { farm in
                let cases: [(app: String, files: [String: String], error: String)] = [
                    ("unparsable", ["Dockerfile": "FROM \(base)\nRUNN echo\n"], "the Dockerfile does not parse: unknown instruction \"RUNN\""),
                    ("missing-base", ["Dockerfile": "FROM \(registry.host)/base/nothere:1\nRUN true\n"],
                     "FROM \(registry.host)/base/nothere:1: the image cannot be pulled"),
                    ("failing-step", ["Dockerfile": "FROM \(base)\nRUN echo step output && exit 3\n"], "`RUN echo step output && exit 3` exited 3"),
                    ("too-slow", ["Dockerfile": "FROM \(base)\nRUN sleep 120\n"], "the image build was stopped: time limit of 20 s reached"),
                    ("too-big", ["Dockerfile": "FROM \(base)\nCMD [\"true\"]\n", "big.txt": String(repeating: "0123456789abcdef\n", count: 80_000)],
                     "the build context (the app's files) is 1.4 MB, over this farm's limit of 1.0 MB"),
                    ("no-command", ["Dockerfile": "FROM \(base)\nRUN true\n"], "the image has neither ENTRYPOINT nor CMD, and the app has no Procfile"),
                    // busybox's wget without -T: its -T crashes in a container.
                    ("no-network", ["Dockerfile": "FROM \(base)\nRUN wget -q -O- http://\(registry.host)/v2/\nCMD [\"true\"]\n"],
                     "can't connect to remote host (127.0.0.1): Connection refused"),
                ]
                for (app, files, error) in cases {
                    let key = try await farm.createApp(app)
                    let repo = try await makeGitRepository(files)
                    let push = try await sh("git", ["push", farm.remote(app, key: key), "main"], in: repo)
                    #expect(!push.succeeded, "\(app): \(push.output)")
                    #expect(push.output.contains(error), "\(app): \(push.output)")
                    #expect(try await Self.releases(farm, app).isEmpty, "\(app)")
                    #expect(try await Self.build(farm, "b-\(cases.firstIndex { $0.app == app }! + 1)")["image"] == nil, "\(app)")
                    #expect(try await registry.tags("kiln/\(app)").isEmpty, "\(app)")
                }
                // A Dockerfile that is a link (to a file the build user could read) is refused before buildah runs.
                let linkedKey = try await farm.createApp("linked")
                let linked = try await makeGitRepository(["real.Dockerfile": "FROM \(base)\nCMD [\"true\"]\n"])
                try await sh("ln", ["-s", "real.Dockerfile", "Dockerfile"], in: linked)
                try await sh("git", ["add", "Dockerfile"], in: linked)
                try await Self.commit(linked, "a linked Dockerfile")
                let refusedLink = try await sh("git", ["push", farm.remote("linked", key: linkedKey), "main"], in: linked)
                #expect(refusedLink.output.contains("the app's Dockerfile is a symbolic link, not a regular file"), "\(refusedLink.output)")
                // Without the app's build network a RUN reaches nothing, not even the worker's loopback (above); with it, it does.
                let key = try await farm.createApp("networked")
                #expect(try await farm.kiln("apps", "set", "--app", "networked", "--build-network", "on").succeeded)
                let repo = try await makeGitRepository(try #require(cases.last).files)
                let push = try await sh("git", ["push", farm.remote("networked", key: key), "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
            }
            // A registry that refuses pushes (read-only, serving the same base): the build fails, nothing is released.
            try await ImageRegistry.with(storage: registry.storage, readOnly: true) { readOnly in
                let base = "\(readOnly.host)/base/busybox:1"
                try await KilnFarm.with(workers: 1, options: Self.options(readOnly, base: base)) { farm in
                    let key = try await farm.createApp("refused")
                    let repo = try await makeGitRepository(Self.sample(base: base))
                    let push = try await sh("git", ["push", farm.remote("refused", key: key), "main"], in: repo)
                    #expect(!push.succeeded, "\(push.output)")
                    #expect(push.output.contains("push rejected: build b-1 failed: the registry \(readOnly.host) refused the push"), "\(push.output)")
                    #expect(try await Self.releases(farm, "refused").isEmpty)
                    #expect(try await Self.build(farm, "b-1")["image"] == nil)
                    #expect(try await readOnly.tags("kiln/refused").isEmpty)
                }
            }
        }
    }

    @Test func aRegistryWithCredentialsTakesTheRightOnesOnly() async throws {
        try await ImageRegistry.with(credentials: ("kiln", "a-registry-password")) { registry in
            let base = try await registry.pushBusyboxBase()
            // Wrong credentials in an auth file: the push is rejected, naming the registry's answer.
            let wrong = try registry.authFile(password: "not-the-password")
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base, extra: ["--registry-auth-file", wrong.path])) { farm in
                let key = try await farm.createApp("denied")
                let repo = try await makeGitRepository(Self.sample(base: base))
                let push = try await sh("git", ["push", farm.remote("denied", key: key), "main"], in: repo)
                #expect(!push.succeeded, "\(push.output)")
                #expect(push.output.contains("FROM \(base): the image cannot be pulled") && push.output.contains("unauthorized"), "\(push.output)")
                #expect(try await Self.releases(farm, "denied").isEmpty)
            }
            // The right ones from the environment: built, pushed, exported (onto a stack image in
            // Docker's format, as `docker push` leaves them) and signed through them.
            let environment = ["KILN_REGISTRY_USERNAME": "kiln", "KILN_REGISTRY_PASSWORD": "a-registry-password"]
            let dockerStack = try await registry.pushBusyboxBase(as: "stacks/busybox-docker:1", format: "docker")
            let stackManifest = try await registry.manifest(dockerStack)
            #expect(stackManifest["mediaType"] as? String == "application/vnd.docker.distribution.manifest.v2+json")
            let stackLayers = (stackManifest["layers"] as? [[String: Any]])?.count ?? 0
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: dockerStack), environment: environment) { farm in
                let key = try await farm.createApp("allowed")
                let repo = try await makeGitRepository(Self.sample(base: base))
                let push = try await sh("git", ["push", farm.remote("allowed", key: key), "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
                let image = try #require(try await Self.build(farm, "b-1")["image"] as? String)
                #expect(try await registry.inspect(image)["Digest"] as? String == String(image.split(separator: "@")[1]))
                let slugKey = try await farm.createApp("allowed-slug")
                #expect(try await farm.kiln("apps", "set", "--app", "allowed-slug", "--export-image", "on").succeeded)
                let slugRepo = try await makeGitRepository(Self.slugApp)
                let exported = try await sh("git", ["push", farm.remote("allowed-slug", key: slugKey), "main"], in: slugRepo)
                #expect(exported.succeeded && exported.output.contains("Slug exported as \(registry.host)/kiln/allowed-slug@sha256:"), "\(exported.output)")
                let slugImage = try #require(try await Self.build(farm, "b-2")["image"] as? String)
                let slugManifest = try await registry.manifest(slugImage)
                #expect(slugManifest["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
                #expect((slugManifest["layers"] as? [[String: Any]])?.count == stackLayers + 1)
                let auth = farm.home.appendingPathComponent("keys/registry-auth.json")
                let mode = try FileManager.default.attributesOfItem(atPath: auth.path)[.posixPermissions] as? Int
                #expect(mode == 0o600)
                let pem = farm.home.appendingPathComponent("farm.pem")
                try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                let anonymous = try await farm.kiln("image", "verify", image, "--public-key", pem.path, "--insecure")
                #expect(!anonymous.succeeded && anonymous.output.contains("unauthorized"), "\(anonymous.output)")
                let verified = try await farm.kiln("image", "verify", image, "--public-key", pem.path, "--insecure", "--auth-file", auth.path)
                #expect(verified.output.contains("Verified: \(image)"), "\(verified.output)")
            }
        }
    }
}
