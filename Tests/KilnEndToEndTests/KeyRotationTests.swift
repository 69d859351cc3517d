import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// `kiln farm-keys rotate` (and its older spelling `kiln keys rotate`): new
/// slugs are signed with the new key and say so in their manifest; old slugs
/// keep verifying with the retired public key that `kiln keys public --all`
/// lists, and not with the new key alone. `kiln farm-keys revoke`: nothing a
/// revoked key signed verifies any more, wherever the verifier got its keys.
@Suite struct KeyRotationTests {
    /// A server and a worker on one home and database: each `withRunning(parts)`
    /// starts them anew, so that they read the home's keys again, as a restart does.
    static func farm(_ name: String, worker extra: [String] = []) async throws -> (parts: [Command], farm: KilnFarm) {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory(name)
        let port = try KilnFarm.freePort()
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let parts = [
            Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions, environment: environment),
            Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path] + TestEnvironment.trustedFetchOptions + extra, environment: environment),
        ]
        let token = "kiln_admin_test_\(UUID().uuidString)"
        try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
        return (parts, KilnFarm(home: home, port: port, server: "http://127.0.0.1:\(port)", token: token))
    }

    /// `kiln farm-keys ARGUMENTS --home HOME`, as an operator runs it where the server's home is.
    static func onHome(_ farm: KilnFarm, _ arguments: String...) async throws -> Command.Outcome {
        try await sh(TestEnvironment.binary, ["farm-keys"] + arguments + ["--home", farm.home.path])
    }

    /// The id of the farm's current key, as the home says it.
    static func currentKeyID(_ farm: KilnFarm) async throws -> String {
        let listed = try await onHome(farm, "list", "--json")
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]], "\(listed.output)")
        return try #require(keys.first { $0["state"] as? String == "current" }?["id"] as? String, "\(listed.output)")
    }

    @Test func slugsSignedBeforeARotationStillVerifyWithTheRetiredKey() async throws {
        let (parts, farm) = try await Self.farm("rotation")
        let home = farm.home
        let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
        let key = try await withRunning(parts) {
            try await KilnFarm.waitForHealth(farm.server, log: home.appendingPathComponent("none"))
            let key = try await farm.createApp("rotated")
            let pushed = try await sh("git", ["push", farm.remote("rotated", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            return key
        }

        let rotated = try await sh(TestEnvironment.binary, ["keys", "rotate", "--home", home.path])
        #expect(rotated.succeeded && rotated.output.contains("signs from now on"), "\(rotated.output)")

        try await withRunning(parts) {
            try await KilnFarm.waitForHealth(farm.server, log: home.appendingPathComponent("none"))
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "after"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("rotated", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")

            let keys = try TestEnvironment.temporaryDirectory("keys")
            let current = keys.appendingPathComponent("current.pem"), all = keys.appendingPathComponent("all.pem")
            try (try await farm.kiln("keys", "public")).output.write(to: current, atomically: true, encoding: .utf8)
            try (try await farm.kiln("keys", "public", "--all")).output.write(to: all, atomically: true, encoding: .utf8)
            #expect(try String(contentsOf: all, encoding: .utf8).components(separatedBy: "BEGIN PUBLIC KEY").count == 3)

            var ids: [String] = []
            for build in ["b-1", "b-2"] {
                let directory = keys.appendingPathComponent(build)
                #expect(try await farm.kiln("slug", "get", build, "-o", directory.path).succeeded)
                let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("manifest.json"))) as? [String: Any])
                ids.append(try #require(manifest["key_id"] as? String))
                let withAll = try await farm.kiln("slug", "verify", directory.path, "--key", all.path)
                #expect(withAll.succeeded, "\(build): \(withAll.output)")
                let withCurrent = try await farm.kiln("slug", "verify", directory.path, "--key", current.path)
                #expect(withCurrent.succeeded == (build == "b-2"), "\(build): \(withCurrent.output)")
                if build == "b-1" {
                    #expect(withCurrent.output.contains("signed with farm key \(ids[0])") && withCurrent.output.contains("kiln farm-keys public --all"), "\(withCurrent.output)")
                }
            }
            #expect(ids[0] != ids[1])
        }
    }

    @Test func aKeyRevokedAfterACompromiseVerifiesNothingItSigned() async throws {
        let (parts, farm) = try await Self.farm("revocation")
        let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
        let key = try await withRunning(parts) {
            try await KilnFarm.waitForHealth(farm.server, log: farm.home.appendingPathComponent("none"))
            let key = try await farm.createApp("compromised")
            let pushed = try await sh("git", ["push", farm.remote("compromised", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            return key
        }
        let old = try await Self.currentKeyID(farm)

        // The key that signs cannot be revoked: rotate first.
        let refused = try await Self.onHome(farm, "revoke", old)
        #expect(!refused.succeeded && refused.output.contains("farm key \(old) is the current key") && refused.output.contains("kiln farm-keys rotate"), "\(refused.output)")
        let rotated = try await Self.onHome(farm, "rotate")
        #expect(rotated.succeeded && rotated.output.contains("Farm key \(old) retired"), "\(rotated.output)")
        let new = try await Self.currentKeyID(farm)
        let unknown = try await Self.onHome(farm, "revoke", "0123456789abcdef")
        #expect(!unknown.succeeded && unknown.output.contains("\(new) (current), \(old) (retired)"), "\(unknown.output)")
        let revoked = try await Self.onHome(farm, "revoke", old, "--reason", "laptop stolen")
        #expect(revoked.succeeded && revoked.output.contains("Farm key \(old) revoked at") && revoked.output.contains("(laptop stolen)"), "\(revoked.output)")
        let again = try await Self.onHome(farm, "revoke", old)
        #expect(again.succeeded && again.output.contains("already revoked") && again.output.contains("(laptop stolen)"), "\(again.output)")

        // The worker reads the revocation at start, as after the procedure's restart.
        try await withRunning(parts) {
            try await KilnFarm.waitForHealth(farm.server, log: farm.home.appendingPathComponent("none"))
            // A hot push would build on the running release, which the revoked key signed: refused, naming the key.
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "hot"], in: repo)
            let hot = try await sh("git", ["-c", "http.extraheader=KILN-HOT: true", "push", farm.remote("compromised", key: key), "main"], in: repo)
            #expect(!hot.succeeded && hot.output.contains("Hot upgrade impossible: release v1 of compromised (build b-1) was signed with farm key \(old), which was revoked at"), "\(hot.output)")
            #expect(hot.output.contains("(laptop stolen)") && hot.output.contains("A push without KILN-HOT: true deploys this commit by restart"), "\(hot.output)")
            // Another slug: a signed URL names a slug by digest, and the same bytes would come with b-3's manifest.
            try writeFiles(["run*": "#!/bin/sh\necho run again\n"], in: repo)
            try await sh("git", ["commit", "-qam", "rebuilt"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("compromised", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")

            // The states, from the server and from the home alike.
            for listed in [try await farm.kiln("farm-keys", "list"), try await Self.onHome(farm, "list")] {
                let rows = listed.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
                #expect(rows.count == 3 && rows[1].prefix(2) == [new, "current"] && rows[2].prefix(2) == [old, "revoked"], "\(listed.output)")
                #expect(listed.output.contains("laptop stolen"), "\(listed.output)")
            }
            let json = try await farm.kiln("farm-keys", "list", "--json")
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]], "\(json.output)")
            #expect(keys.map { $0["state"] as? String } == ["current", "revoked"] && keys[1]["reason"] as? String == "laptop stolen" && keys[1]["revoked_at"] != nil, "\(json.output)")
            let published = try await farm.kiln("farm-keys", "public", "--all")
            #expect(published.output.components(separatedBy: "BEGIN PUBLIC KEY").count == 2, "a revoked key is not published: \(published.output)")

            // A file pinned before the revocation still holds the revoked key: the server's word takes it away.
            let scratch = try TestEnvironment.temporaryDirectory("revoked-keys")
            let pinned = scratch.appendingPathComponent("pinned.pem")
            let revokedPEM = try String(contentsOf: farm.home.appendingPathComponent("keys/revoked/\(old).pub.pem"), encoding: .utf8)
            try (published.output + revokedPEM).write(to: pinned, atomically: true, encoding: .utf8)
            for build in ["b-1", "b-3"] {
                #expect(try await farm.kiln("slug", "get", build, "-o", scratch.appendingPathComponent(build).path).succeeded)
            }
            for options in [[], ["--key", pinned.path]] {
                let refused = try await sh(TestEnvironment.binary, ["slug", "verify", scratch.appendingPathComponent("b-1").path] + options,
                                           environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": farm.token])
                #expect(!refused.succeeded && refused.output.contains("the manifest was signed with farm key \(old), which was revoked at") && refused.output.contains("(laptop stolen)"),
                        "\(options): \(refused.output)")
                let verified = try await sh(TestEnvironment.binary, ["slug", "verify", scratch.appendingPathComponent("b-3").path] + options,
                                            environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": farm.token])
                #expect(verified.succeeded && verified.output.contains("verified: compromised b-3"), "\(options): \(verified.output)")
            }
            // A verifier that cannot ask refuses, unless told to trust its file as it is.
            let unasked = try await sh(TestEnvironment.binary, ["slug", "verify", scratch.appendingPathComponent("b-3").path, "--key", pinned.path])
            #expect(!unasked.succeeded && unasked.output.contains("cannot learn which farm keys were revoked") && unasked.output.contains("--offline"), "\(unasked.output)")
            let offline = try await sh(TestEnvironment.binary, ["slug", "verify", scratch.appendingPathComponent("b-1").path, "--key", pinned.path, "--offline"])
            #expect(offline.succeeded, "--offline trusts the file as it is: \(offline.output)")

            // A release service fetching by signed URL: the farm's server it trusts says which keys are revoked;
            // over plain http the URL's own server is not asked (it could hide a revocation).
            let plain = try await farm.kiln("slug", "url", "b-3")
            let unanswered = try await sh(TestEnvironment.binary, ["slug", "fetch", plain.output.trimmingCharacters(in: .whitespacesAndNewlines),
                                                                   "--public-key", pinned.path, "-o", scratch.appendingPathComponent("unasked").path])
            #expect(!unanswered.succeeded && unanswered.output.contains("--revocations-from"), "\(unanswered.output)")
            for (build, trusted) in [("b-1", false), ("b-3", true)] {
                let url = try await farm.kiln("slug", "url", build)
                let fetched = scratch.appendingPathComponent("fetched-\(build)")
                let fetch = try await sh(TestEnvironment.binary, ["slug", "fetch", url.output.trimmingCharacters(in: .whitespacesAndNewlines), "--public-key", pinned.path,
                                                                  "--revocations-from", farm.server, "-o", fetched.path])
                if trusted {
                    #expect(fetch.succeeded && fetch.output.contains("verified: compromised b-3"), "\(fetch.output)")
                } else {
                    #expect(!fetch.succeeded && fetch.output.contains("signed with farm key \(old), which was revoked at"), "\(fetch.output)")
                    #expect(!FileManager.default.fileExists(atPath: fetched.path), "nothing is left of a refused slug")
                }
            }
        }
    }

    @Test func anImageARevokedKeySignedIsRefusedByImageVerify() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            let (parts, farm) = try await Self.farm("revoked-image", worker: ["--registry", "\(registry.host)/kiln", "--registry-insecure", "--export-base-image", base])
            let repo = try await makeGitRepository(["Procfile": "web: httpd -f -p $PORT -h /app/www\n", "www/index.html": "signed\n"])
            let (key, first) = try await withRunning(parts) {
                try await KilnFarm.waitForHealth(farm.server, log: farm.home.appendingPathComponent("none"))
                let key = try await farm.createApp("exported")
                #expect(try await farm.kiln("apps", "set", "--app", "exported", "--export-image", "on").succeeded)
                return (key, try await Self.pushedImage(farm, key: key, repo: repo, build: "b-1"))
            }
            let old = try await Self.currentKeyID(farm)
            try #require(try await Self.onHome(farm, "rotate").succeeded)
            try #require(try await Self.onHome(farm, "revoke", old, "--reason", "leaked").succeeded)
            try await withRunning(parts) {
                try await KilnFarm.waitForHealth(farm.server, log: farm.home.appendingPathComponent("none"))
                try await sh("git", ["commit", "-q", "--allow-empty", "-m", "after"], in: repo)
                let second = try await Self.pushedImage(farm, key: key, repo: repo, build: "b-2")
                // Pinned before the revocation: the new key and the revoked one.
                let pinned = try TestEnvironment.temporaryDirectory("image-keys").appendingPathComponent("pinned.pem")
                let revokedPEM = try String(contentsOf: farm.home.appendingPathComponent("keys/revoked/\(old).pub.pem"), encoding: .utf8)
                try ((try await farm.kiln("farm-keys", "public")).output + revokedPEM).write(to: pinned, atomically: true, encoding: .utf8)
                let refused = try await farm.kiln("image", "verify", first, "--public-key", pinned.path, "--insecure")
                #expect(!refused.succeeded && refused.output.contains("image NOT verified") && refused.output.contains("was signed with farm key \(old), which was revoked at")
                        && refused.output.contains("(leaked)"), "\(refused.output)")
                let verified = try await farm.kiln("image", "verify", second, "--public-key", pinned.path, "--insecure")
                #expect(verified.succeeded && verified.output.contains("Verified: ") && !verified.output.contains(old), "\(verified.output)")
            }
        }
    }

    /// Pushes `repo` to the app `exported` and returns the image its build `build` exported.
    static func pushedImage(_ farm: KilnFarm, key: String, repo: URL, build: String) async throws -> String {
        let pushed = try await sh("git", ["push", farm.remote("exported", key: key), "main"], in: repo)
        try #require(pushed.succeeded, "\(pushed.output)")
        let shown = try await farm.kiln("builds", "show", build, "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any], "\(shown.output)")
        return try #require(record["image"] as? String, "\(shown.output)")
    }
}
