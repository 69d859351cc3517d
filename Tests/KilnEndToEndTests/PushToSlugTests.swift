import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// The walkthrough of the README, driven as a user drives it: `kiln up`,
/// the `kiln` client, real `git push`es over HTTP, and at the end the
/// reference release service running the app.
@Suite(.serialized) struct PushToSlugTests {
    static let helloApp = [
        "Procfile": "web: python3 -m http.server $PORT\n",
        "index.html": "<h1>hello</h1>\n",
    ]

    @Test func aPushOfTheDeployBranchBecomesASignedSlugAndARelease() async throws {
        try await KilnFarm.with { farm in
            let key = try await farm.createApp("hello")
            let repo = try await makeGitRepository(Self.helloApp)
            let push = try await sh("git", ["push", farm.remote("hello", key: key), "main"], in: repo)
            #expect(push.succeeded, "\(push.output)")
            #expect(push.output.contains("remote: -----> Build b-1 queued for hello"))
            #expect(push.output.contains("kiln logs b-1 -f"))
            #expect(push.output.contains("remote: -----> Procfile app detected"))
            #expect(push.output.contains("remote: -----> Released hello"))

            let list = try await farm.kiln("builds", "list", "--app", "hello", "--json")
            let builds = try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]]
            let build = try #require(builds?.first)
            let commit = try await sh("git", ["rev-parse", "HEAD"], in: repo).output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(build["id"] as? String == "b-1")
            #expect(build["app"] as? String == "hello")
            #expect(build["state"] as? String == "succeeded")
            #expect(build["commit"] as? String == commit)
            for field in ["slug_digest", "created_at", "started_at", "finished_at"] { #expect(build[field] is String, "\(field)") }

            let out = try TestEnvironment.temporaryDirectory("out")
            #expect(try await farm.kiln("slug", "get", "b-1", "-o", out.path).succeeded)
            let pem = out.appendingPathComponent("farm.pem")
            let publicKey = try await farm.kiln("keys", "public")
            try publicKey.output.write(to: pem, atomically: true, encoding: .utf8)
            let verified = try await sh("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin",
                                                    "-in", out.appendingPathComponent("manifest.json").path,
                                                    "-sigfile", out.appendingPathComponent("manifest.json.sig").path])
            #expect(verified.output.contains("Signature Verified Successfully"))

            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as? [String: Any]
            let sum = try await sh("sha256sum", [out.appendingPathComponent("slug.tar.zst").path])
            #expect(sum.output.hasPrefix(try #require(manifest?["sha256"] as? String)))
            #expect(manifest?["sha256"] as? String == build["slug_digest"] as? String)
            #expect((manifest?["process_types"] as? [String: String])?["web"] == "python3 -m http.server $PORT")
            #expect(manifest?["commit"] as? String == commit)
            #expect(manifest?["buildpacks"] as? [String] == ["procfile"])
            let listing = try await sh("sh", ["-c", "zstd -dc '\(out.path)/slug.tar.zst' | tar tf -"])
            #expect(listing.output.split(separator: "\n") == ["app/", "app/Procfile", "app/index.html"])

            let releases = try await farm.kiln("releases", "--app", "hello", "--json")
            #expect(releases.output.contains("\"version\" : 1"))
            #expect(releases.output.contains("\"build\" : \"b-1\""))

            // The app can be cloned back (upload-pack) with its key.
            let clone = try TestEnvironment.temporaryDirectory("clone")
            let cloned = try await sh("git", ["clone", "-q", farm.remote("hello", key: key), clone.appendingPathComponent("hello").path])
            #expect(cloned.succeeded, "\(cloned.output)")
            #expect(FileManager.default.fileExists(atPath: clone.appendingPathComponent("hello/Procfile").path))

            // The same tree pushed again as a new commit gives the same slug, and release v2.
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "again"], in: repo)
            #expect(try await sh("git", ["push", farm.remote("hello", key: key), "main"], in: repo).succeeded)
            let second = try await farm.kiln("builds", "show", "b-2", "--json")
            #expect(second.output.contains("\"slug_digest\" : \"\(build["slug_digest"] as? String ?? "")\""))
            let log = try await farm.kiln("logs", "b-2")
            #expect(log.output.contains("-----> Slug packed"))

            // The walkthrough's end: the reference release service takes the config release and the app answers on its port.
            let agentPort = try KilnFarm.freePort(), stable = try KilnFarm.freePort()
            let secret = try ReleaseAgentTests.secretFile(in: try TestEnvironment.temporaryDirectory("agent-secret"), secret: "hello-release-secret")
            let agent = Command(TestEnvironment.binary, ["release-agent", "--listen", "127.0.0.1:\(agentPort)", "--secret-file", secret.path,
                                                        "--apps-dir", try TestEnvironment.temporaryDirectory("kiln-agent").path, "--public-key", pem.path,
                                                        "--farm", farm.server, "--app-port", "hello=\(stable)"])
            try await withRunning([agent]) {
                try await KilnFarm.waitForListener("http://127.0.0.1:\(agentPort)/health")
                let set = try await farm.kiln("apps", "set", "--app", "hello", "--release-webhook", "http://127.0.0.1:\(agentPort)/releases",
                                              "--release-webhook-secret", "hello-release-secret")
                try #require(set.succeeded, "\(set.output)")
                let config = try await farm.kiln("config", "set", "--app", "hello", "GREETING=hi")
                #expect(config.succeeded && config.output.contains("Released hello v3: Set GREETING by admin"), "\(config.output)")
                // The agent's long-poll, a few rounds on a slow host.
                var deploys = ""
                for _ in 0..<5 where !deploys.contains(#""outcome""#) {
                    deploys = try await sh("curl", ["-sf", "-m", "130", "http://127.0.0.1:\(agentPort)/apps/hello/deploys?after=0&wait=120"]).output
                }
                #expect(deploys.contains(#""outcome":"succeeded""#) && deploys.contains(#""version":3"#), "\(deploys)")
                let page = try await sh("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(stable)/"])
                #expect(page.output == "<h1>hello</h1>\n", "\(page.output)")
                let shown = try await farm.kiln("releases", "--app", "hello")
                let newest = shown.output.split(separator: "\n").first { $0.hasPrefix("v3 ") } ?? ""
                // Handed off (the agent took it: delivered, or an instant before the farm records that) and reported.
                #expect(newest.contains("Set GREETING by admin") && !newest.contains(" none ") && newest.contains("succeeded"), "\(shown.output)")
            }
        }
    }

    @Test func otherBranchesWrongKeysAndFailingBuildpacksBuildNothingOrReject() async throws {
        try await KilnFarm.with { farm in
            let key = try await farm.createApp("edge")
            let otherKey = try await farm.createApp("other")
            let repo = try await makeGitRepository(Self.helloApp)

            // A branch other than the deploy branch is stored, not built.
            try await sh("git", ["checkout", "-q", "-b", "feature"], in: repo)
            let feature = try await sh("git", ["push", farm.remote("edge", key: key), "feature"], in: repo)
            #expect(feature.succeeded, "\(feature.output)")
            #expect(feature.output.contains("feature is not the deploy branch (main)"))
            #expect(try await farm.kiln("builds", "list", "--app", "edge", "--json").output.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]")

            // A wrong key, or another app's key, gets 401/403 and no build.
            let wrong = try await sh("git", ["push", farm.remote("edge", key: "kiln_wrong"), "feature:main"], in: repo)
            #expect(!wrong.succeeded)
            #expect(wrong.output.contains("Authentication failed") || wrong.output.contains("401"))
            let status = try await sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://kiln:kiln_wrong@127.0.0.1:\(farm.port)/edge.git/info/refs?service=git-receive-pack"])
            #expect(status.output == "401")
            let foreign = try await sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://kiln:\(otherKey)@127.0.0.1:\(farm.port)/edge.git/info/refs?service=git-receive-pack"])
            #expect(foreign.output == "403")
            #expect(try await farm.kiln("builds", "list", "--app", "edge", "--json").output.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]")

            // A buildpack whose compile fails rejects the push with its message on the last line.
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Broken\n",
                "bin/compile*": "#!/bin/sh\necho '-----> compiling'\necho 'error: could not find mix.lock' >&2\nexit 7\n",
            ])
            try await sh("git", ["checkout", "-q", "main"], in: repo)
            try writeFiles([".buildpacks": "file://\(buildpack.path)\n"], in: repo)
            try await sh("git", ["add", ".buildpacks"], in: repo)
            try await sh("git", ["commit", "-qm", "use a broken buildpack"], in: repo)
            let failed = try await sh("git", ["push", farm.remote("edge", key: key), "main"], in: repo)
            #expect(!failed.succeeded)
            #expect(failed.output.contains("remote: error: could not find mix.lock"))
            let remoteLines = failed.output.split(separator: "\n").filter { $0.hasPrefix("remote:") }
            // The rejection names the buildpack and its status, then repeats its last lines.
            #expect(failed.output.contains("push rejected: build b-1 failed: file://\(buildpack.path): bin/compile exited 7; its last lines:"), "\(failed.output)")
            #expect(remoteLines.last?.contains("error: could not find mix.lock") == true, "\(remoteLines.last ?? "")")
            #expect(failed.output.contains("[remote rejected] main -> main"))
            let show = try await farm.kiln("builds", "show", "b-1", "--json")
            #expect(show.output.contains("\"state\" : \"failed\""))

            // A bad .buildpacks line is named.
            try writeFiles([".buildpacks": "file://\(buildpack.path)\nnot a url\n"], in: repo)
            try await sh("git", ["commit", "-qam", "bad list"], in: repo)
            let bad = try await sh("git", ["push", farm.remote("edge", key: key), "main"], in: repo)
            #expect(!bad.succeeded)
            #expect(bad.output.contains(".buildpacks line 2"))

            // Errors from the client are one line and a non-zero status.
            let missing = try await farm.kiln("builds", "show", "b-999")
            #expect(!missing.succeeded)
            #expect(missing.output.contains("there is no build b-999"))
        }
    }
}
