import Foundation
import KilnProcess
import KilnTestSupport
import KilnWebhook
import Testing

/// Releases as the seeds define them, through a whole farm (`kiln up`), real
/// pushes and a real receiver (``ReleaseHandoffTests/receiver(port:directory:)``):
/// a config change is a release, handed off with a signed URL of its config
/// and none of its values; the release service reports each deploy's outcome,
/// signed as the hand-off is, and a failure rolls back; an image is released
/// by its digest, which no build made.
@Suite struct ReleaseLifecycleTests {
    /// An HTTP request with curl: the answer's status and body.
    static func http(_ method: String, _ url: String, body: String? = nil, headers: [String] = []) async throws -> (status: Int, body: String) {
        var arguments = ["-s", "-X", method, "-w", "\n%{http_code}"]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let outcome = try await sh("curl", arguments + [url])
        let lines = outcome.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    /// A `kiln` client command run with `key` (an app's) instead of the administrator's token.
    static func kiln(_ farm: KilnFarm, key: String, _ arguments: String...) async throws -> Command.Outcome {
        try await sh(TestEnvironment.binary, arguments, environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": key])
    }

    /// Sets `app`'s release webhook to the receiver on `port`.
    static func hook(_ farm: KilnFarm, _ app: String, port: Int, secret: String) async throws {
        let set = try await farm.kiln("apps", "set", "--app", app, "--release-webhook", "http://127.0.0.1:\(port)/releases", "--release-webhook-secret", secret)
        try #require(set.succeeded, "\(set.output)")
    }

    /// A farm beside a real signed receiver (ReleaseHandoffTests') that writes the hand-offs it takes into `inbox`.
    static func withReceiver(workers: Int = 1, options: [String] = [], _ body: @escaping @Sendable (_ farm: KilnFarm, _ port: Int, _ inbox: URL) async throws -> Void) async throws {
        let port = try KilnFarm.freePort()
        let inbox = try TestEnvironment.temporaryDirectory("inbox")
        try await withRunning([ReleaseHandoffTests.receiver(port: port, directory: inbox)]) {
            try await KilnFarm.waitForListener("http://127.0.0.1:\(port)/")
            try await KilnFarm.with(workers: workers, options: options) { farm in try await body(farm, port, inbox) }
        }
    }

    @Test func aConfigChangeIsAReleaseOfTheSameSlugHandedOffWithASignedURLOfItsConfig() async throws {
        let secret = "the-release-service-shared-secret"
        try await Self.withReceiver { farm, port, inbox in
            let key = try await farm.createApp("configured")
            try await Self.hook(farm, "configured", port: port, secret: secret)
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
            let pushed = try await sh("git", ["push", farm.remote("configured", key: key), "main"], in: repo)
            try #require(pushed.succeeded, "\(pushed.output)")
            let first = try #require(try await ReleaseHandoffTests.waitFor(1, in: inbox, secret: secret, seconds: 30).first)
            let slug = try #require((first.body["slug"] as? [String: Any])?["sha256"] as? String)
            #expect(first.body["status_url"] as? String == farm.server + "/api/apps/configured/releases/v1/status", "\(first.body)")
            // Every hand-off names its config; version 0 is the empty one.
            let initial = try #require(first.body["config"] as? [String: Any], "\(first.body)")
            #expect(initial["version"] as? Int == 0 && initial["url_expires_at"] is String)
            let empty = try await Self.http("GET", try #require(initial["url"] as? String))
            let emptyVars = try Self.json(empty.body)["vars"] as? [String: String]
            #expect(empty.status == 200 && emptyVars == [:], "\(empty)")

            let value = "postgres://kiln:s3cret-value@db.internal/prod"
            let set = try await farm.kiln("config", "set", "--app", "configured", "DATABASE_URL=\(value)")
            #expect(set.succeeded && set.output.contains("-----> Released configured v2: Set DATABASE_URL by admin"), "\(set.output)")
            let second = try #require(try await ReleaseHandoffTests.waitFor(2, in: inbox, secret: secret, seconds: 30).dropFirst().first)
            #expect(second.signed && second.key == "configured-v2")
            #expect(second.body["version"] as? Int == 2 && second.body["description"] as? String == "Set DATABASE_URL by admin")
            #expect(second.body["config_version"] as? Int == 1 && second.body["build"] as? String == "b-1")
            #expect((second.body["slug"] as? [String: Any])?["sha256"] as? String == slug, "the same slug, with the new config")
            #expect(second.body["hot"] == nil)
            // The value never travels in the hand-off: only a signed URL to it.
            #expect(!String(decoding: second.raw, as: UTF8.self).contains("s3cret-value"), "\(String(decoding: second.raw, as: UTF8.self))")
            let config = try #require(second.body["config"] as? [String: Any])
            let url = try #require(config["url"] as? String)
            #expect(config["version"] as? Int == 1 && url.hasPrefix(farm.server + "/api/apps/configured/config/versions/1?expires="), "\(url)")

            // The URL alone (no key) gives the vars.
            let fetched = try await Self.http("GET", url)
            #expect(fetched.status == 200, "\(fetched)")
            let vars = try Self.json(fetched.body)
            #expect(vars["app"] as? String == "configured" && vars["version"] as? Int == 1 && vars["vars"] as? [String: String] == ["DATABASE_URL": value])
            // Altered, pointed at another version, or expired: refused.
            let flipped = url.hasSuffix("0") ? String(url.dropLast()) + "1" : String(url.dropLast()) + "0"
            let tampered = try await Self.http("GET", flipped)
            #expect(tampered.status == 403 && tampered.body.contains("signature does not match"), "\(tampered)")
            let moved = try await Self.http("GET", url.replacingOccurrences(of: "/versions/1?", with: "/versions/0?"))
            #expect(moved.status == 403, "\(moved)")
            let past = Int(Date().timeIntervalSince1970) - 3600
            let signed = try await sh("python3", ["-c", """
                import hmac, hashlib, sys
                secret = open(sys.argv[1], 'rb').read()
                print(hmac.new(secret, ('GET\\n/api/apps/configured/config/versions/1\\n' + sys.argv[2]).encode(), hashlib.sha256).hexdigest())
                """, farm.home.appendingPathComponent("keys/url-hmac.key").path, "\(past)"])
            let expired = try await Self.http("GET", farm.server + "/api/apps/configured/config/versions/1?expires=\(past)&signature="
                                              + signed.output.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(expired.status == 403 && expired.body.contains("expired"), "\(expired)")
            // With a key instead of a signature; without either, 401.
            let byKey = try await Self.http("GET", farm.server + "/api/apps/configured/config/versions/1", headers: ["Authorization: Bearer \(key)"])
            #expect(byKey.status == 200 && byKey.body.contains("s3cret-value"), "\(byKey)")
            #expect(try await Self.http("GET", farm.server + "/api/apps/configured/config/versions/1").status == 401)
            #expect(try await Self.http("GET", farm.server + "/api/apps/configured/config/versions/9", headers: ["Authorization: Bearer \(key)"]).status == 404)

            // The app's own key is named by its id.
            let keyID = try #require(try await farm.kiln("keys", "list", "--app", "configured").output.firstMatch(of: /key-\d+/).map { String($0.0) })
            let unset = try await Self.kiln(farm, key: key, "config", "unset", "--app", "configured", "DATABASE_URL")
            #expect(unset.succeeded && unset.output.contains("Released configured v3: Unset DATABASE_URL by \(keyID)"), "\(unset.output)")

            // --no-release batches: no release until the next change that makes one, which takes both.
            let quiet = try await farm.kiln("config", "set", "--app", "configured", "--no-release", "A=1")
            #expect(quiet.succeeded && quiet.output.contains("No release (--no-release)"), "\(quiet.output)")
            let listed = try await farm.kiln("releases", "--app", "configured", "--json")
            #expect((try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])?.count == 3, "\(listed.output)")
            let both = try await Self.http("PATCH", farm.server + "/api/apps/configured/config", body: #"{"set": {"C": "3", "B": "2"}, "unset": ["GONE"]}"#,
                                           headers: ["Authorization: Bearer \(farm.token)"])
            #expect(both.status == 200, "\(both)")
            let release = try #require(try Self.json(both.body)["release"] as? [String: Any], "\(both.body)")
            #expect(release["version"] as? Int == 4 && release["description"] as? String == "Set B, C and unset GONE by admin" && release["config_version"] as? Int == 4)
            let fourth = try #require(try await ReleaseHandoffTests.waitFor(4, in: inbox, secret: secret, seconds: 30).last)
            #expect(fourth.body["version"] as? Int == 4, "\(fourth.body)")
            let latest = try await Self.http("GET", try #require((fourth.body["config"] as? [String: Any])?["url"] as? String))
            #expect(try Self.json(latest.body)["vars"] as? [String: String] == ["A": "1", "B": "2", "C": "3"], "\(latest)")

            // Without a registry the server cannot release an image, and says how to give it one.
            let image = try await farm.kiln("releases", "create", "--app", "configured", "--image", "registry.example.com/acme/web@sha256:" + String(repeating: "a", count: 64))
            #expect(!image.succeeded && image.output.contains("start it with --registry"), "\(image.output)")
        }
    }

    @Test func theReleaseServiceReportsEachDeploySignedAndAFailureRollsBackToTheLastThatSucceeded() async throws {
        let secret = "the-release-service-shared-secret"
        try await Self.withReceiver { farm, port, inbox in
            let key = try await farm.createApp("rolling")
            _ = try await farm.createApp("other")
            try await Self.hook(farm, "rolling", port: port, secret: secret)
            try await Self.hook(farm, "other", port: port, secret: "another-apps-webhook-secret")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
            #expect(try await sh("git", ["push", farm.remote("rolling", key: key), "main"], in: repo).succeeded)
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "second"], in: repo)
            #expect(try await sh("git", ["push", farm.remote("rolling", key: key), "main"], in: repo).succeeded)
            let handoffs = try await ReleaseHandoffTests.waitFor(2, in: inbox, secret: secret, seconds: 30)
            try #require(handoffs.count == 2, "\(handoffs.map(\.body))")
            let v1Slug = try #require((handoffs[0].body["slug"] as? [String: Any])?["sha256"] as? String)
            let v2Status = try #require(handoffs[1].body["status_url"] as? String)

            // An operator reports with the app's key.
            let byKey = try await Self.kiln(farm, key: key, "releases", "status", "--app", "rolling", "v1", "succeeded")
            #expect(byKey.succeeded && byKey.output.contains("rolling v1: succeeded"), "\(byKey.output)")

            // The release service signs its report with the webhook secret, as Kiln signs the hand-off.
            func signed(_ body: String, secret: String = secret, at time: Date = Date()) -> String {
                "X-Kiln-Signature: " + Webhook.timestampedSignature(of: Data(body.utf8), secret: secret, at: time)
            }
            // As docs/slug-protocol.md's Python does it, for a release service written in Python.
            let python = try await sh("python3", ["-c", """
                import hmac, hashlib, json, sys, time, urllib.request

                def report(status_url, secret, app, release, status, reason=None):
                    body = json.dumps({"app": app, "release": release, "status": status, **({"reason": reason} if reason else {})}).encode()
                    t = str(int(time.time()))
                    signature = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
                    request = urllib.request.Request(status_url, data=body, method="POST", headers={
                        "Content-Type": "application/json", "X-Kiln-Signature": f"t={t},v1={signature}"})
                    with urllib.request.urlopen(request, timeout=15) as answer:
                        return json.load(answer)

                print(json.dumps(report(sys.argv[1], sys.argv[2], "rolling", "v2", "deploying")))
                """, v2Status, secret])
            #expect(python.succeeded, "\(python.output)")
            #expect((try Self.json(python.output)["release"] as? [String: Any])?["status"] as? String == "deploying", "\(python.output)")
            let deploying = #"{"app": "rolling", "release": "v2", "status": "deploying"}"#

            // Refused: another secret, a stale signature, a body changed after signing, another app's path, no proof at all.
            let wrong = try await Self.http("POST", v2Status, body: deploying, headers: [signed(deploying, secret: "not-the-apps-secret-at-all")])
            #expect(wrong.status == 401 && wrong.body.contains("no v1 signature"), "\(wrong)")
            let stale = try await Self.http("POST", v2Status, body: deploying, headers: [signed(deploying, at: Date().addingTimeInterval(-600))])
            #expect(stale.status == 401 && stale.body.contains("outside the 300 s window"), "\(stale)")
            let succeeded = #"{"app": "rolling", "release": "v2", "status": "succeeded"}"#
            let altered = try await Self.http("POST", v2Status, body: succeeded, headers: [signed(deploying)])
            #expect(altered.status == 401, "\(altered)")
            let elsewhere = try await Self.http("POST", farm.server + "/api/apps/other/releases/v2/status", body: deploying, headers: [signed(deploying)])
            #expect(elsewhere.status == 401, "\(elsewhere)")
            #expect(try await Self.http("POST", v2Status, body: deploying).status == 401)
            // A signed body names its release: v2's report sent again to v1's route, or one naming none, is refused.
            let replayed = try await Self.http("POST", farm.server + "/api/apps/rolling/releases/v1/status", body: deploying, headers: [signed(deploying)])
            #expect(replayed.status == 401 && replayed.body.contains("names its release in the body"), "\(replayed)")
            let unnamed = #"{"status": "deploying"}"#
            let anonymous = try await Self.http("POST", v2Status, body: unnamed, headers: [signed(unnamed)])
            #expect(anonymous.status == 401 && anonymous.body.contains("names no app"), "\(anonymous)")
            // The signature is good for this report only: it grants nothing a key would.
            let listing = try await Self.http("GET", farm.server + "/api/apps/rolling/releases", headers: [signed("")])
            #expect(listing.status == 401, "\(listing)")

            // v2 fails: v3 goes back to v1, the last release that succeeded, and is handed off.
            let failed = #"{"app": "rolling", "release": "v2", "status": "failed", "reason": "health check failed on :8080"}"#
            let failure = signed(failed)
            let reported = try await Self.http("POST", v2Status, body: failed, headers: [failure])
            #expect(reported.status == 200, "\(reported)")
            // The same signed report sent again, inside its window, is taken once only.
            let again = try await Self.http("POST", v2Status, body: failed, headers: [failure])
            #expect(again.status == 409 && again.body.contains("was taken before"), "\(again)")
            let answer = try Self.json(reported.body)
            #expect((answer["release"] as? [String: Any])?["status_reason"] as? String == "health check failed on :8080")
            let rollback = try #require(answer["rollback"] as? [String: Any], "\(answer)")
            #expect(rollback["version"] as? Int == 3 && rollback["rollback_of"] as? Int == 2)
            #expect(rollback["description"] as? String == "Rollback to v1: v2 failed (health check failed on :8080)", "\(rollback)")
            let third = try #require(try await ReleaseHandoffTests.waitFor(3, in: inbox, secret: secret, seconds: 30).dropFirst(2).first)
            #expect(third.key == "rolling-v3" && third.body["description"] as? String == "Rollback to v1: v2 failed (health check failed on :8080)")
            #expect((third.body["slug"] as? [String: Any])?["sha256"] as? String == v1Slug)
            let listed = try await farm.kiln("releases", "--app", "rolling")
            #expect(listed.output.contains("failed (health check failed on :8080)") && listed.output.contains("succeeded"), "\(listed.output)")

            // The rollback fails too: no rollback of a rollback. v1, no longer the newest, failing: none either.
            let v3Status = try #require(third.body["status_url"] as? String)
            let failedV3 = #"{"app": "rolling", "release": "v3", "status": "failed", "reason": "health check failed on :8080"}"#
            let loop = try await Self.http("POST", v3Status, body: failedV3, headers: [signed(failedV3)])
            let loopAnswer = try Self.json(loop.body)
            #expect(loop.status == 200 && loopAnswer["rollback"] == nil, "\(loop)")
            let old = try await Self.kiln(farm, key: key, "releases", "status", "--app", "rolling", "1", "failed", "--reason", "late report")
            #expect(old.succeeded && old.output.contains("rolling v1: failed (late report)") && !old.output.contains("Rolled back"), "\(old.output)")
            let all = try await farm.kiln("releases", "--app", "rolling", "--json")
            #expect((try JSONSerialization.jsonObject(with: Data(all.output.utf8)) as? [[String: Any]])?.count == 3, "\(all.output)")

            // `kiln rollback` still works, and names what it went back to.
            let manual = try await farm.kiln("rollback", "--app", "rolling", "v2")
            #expect(manual.succeeded && manual.output.contains("rolling v4: Rollback to v2"), "\(manual.output)")
        }
    }

    @Test func anImageReleasedByDigestIsCopiedSignedAndHandedOffAsABuildsImageIs() async throws {
        try await ImageRegistry.with { registry in
            let tagged = try await registry.pushBusyboxBase(as: "acme/web:1", config: [
                "--entrypoint", #"["/bin/sh", "-c"]"#, "--cmd", #"["httpd -f -p \"$PORT\" -h /srv"]"#, "--port", "8080",
            ])
            let digest = try #require(try await registry.inspect(tagged)["Digest"] as? String)
            let bare = try await registry.pushBusyboxBase(as: "acme/bare:1")
            let bareDigest = try #require(try await registry.inspect(bare)["Digest"] as? String)
            let secret = "an-image-release-hand-off-secret"
            try await Self.withReceiver(workers: 0, options: ["--registry", "\(registry.host)/kiln", "--registry-insecure"]) { farm, port, inbox in
                let key = try await farm.createApp("web")
                try await Self.hook(farm, "web", port: port, secret: secret)

                // A tag could name another image tomorrow: refused, saying so.
                let tag = try await farm.kiln("releases", "create", "--app", "web", "--image", tagged)
                #expect(!tag.succeeded && tag.output.contains("names the image by a tag") && tag.output.contains("a tag can be moved"), "\(tag.output)")
                let nothingToRun = try await farm.kiln("releases", "create", "--app", "web", "--image", "\(registry.host)/acme/bare@\(bareDigest)")
                #expect(!nothingToRun.succeeded && nothingToRun.output.contains("neither ENTRYPOINT nor CMD"), "\(nothingToRun.output)")

                // The farm reads its registry with its own credentials: an app's key cannot borrow them for another app's images.
                let borrowed = try await Self.kiln(farm, key: key, "releases", "create", "--app", "web", "--image", "\(registry.host)/kiln/other@\(digest)")
                #expect(!borrowed.succeeded && borrowed.output.contains("is the app other's repository"), "\(borrowed.output)")

                // Nor may it make the farm fetch from anywhere but its own repository: another registry, or elsewhere in the farm's.
                let source = "\(registry.host)/acme/web@\(digest)"
                let image = "\(registry.host)/kiln/web@\(digest)"
                for elsewhere in [source, "127.0.0.2:1/acme/web@\(digest)"] {
                    let refused = try await Self.kiln(farm, key: key, "releases", "create", "--app", "web", "--image", elsewhere)
                    #expect(!refused.succeeded && refused.output.contains("releases images of its own repository in the farm's registry only (\(registry.host)/kiln/web@sha256:…)"),
                            "\(refused.output)")
                }
                // An administrator releases an image from elsewhere: it is copied into the app's repository.
                let created = try await farm.kiln("releases", "create", "--app", "web", "--image", source)
                #expect(created.succeeded && created.output.contains("web v1: Deploy image \(registry.host)/acme/web@\(digest.prefix(19)) by admin (\(image), ports 8080, config v0)"),
                        "\(created.output)")

                // In the farm's registry under the app's repository, byte for byte (the same digest), tagged v1, signed beside it.
                #expect(try await registry.inspect(image)["Digest"] as? String == digest)
                let tags = try await registry.tags("kiln/web")
                #expect(tags.contains("v1") && tags.contains(digest.replacingOccurrences(of: ":", with: "-") + ".sig"), "\(tags)")
                let scratch = try TestEnvironment.temporaryDirectory("verify")
                let pem = scratch.appendingPathComponent("farm.pem")
                try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                let verified = try await farm.kiln("image", "verify", image, "--public-key", pem.path, "--insecure")
                #expect(verified.succeeded && verified.output.contains("Verified: \(image) was signed by farm key") && verified.output.contains("(app web, released by reference)"),
                        "\(verified.output)")
                try await ImageBuildTests.checkWithOpenSSL(image: image, registry: registry, pem: pem, scratch: scratch)

                let releases = try await ImageBuildTests.releases(farm, "web")
                let release = try #require(releases.first)
                #expect(release["build"] == nil && release["slug_digest"] == nil && release["image"] as? String == image && release["ports"] as? [Int] == [8080], "\(release)")

                // Handed off as a Dockerfile build's image is, without a build, with a manifest the farm signed.
                let handoff = try #require(try await ReleaseHandoffTests.waitFor(1, in: inbox, secret: secret, seconds: 30).first)
                #expect(handoff.signed && handoff.key == "web-v1")
                #expect(handoff.body["build"] == nil && handoff.body["commit"] == nil && handoff.body["slug"] == nil, "\(handoff.body)")
                let shipped = try #require(handoff.body["image"] as? [String: Any])
                #expect(shipped["reference"] as? String == image && shipped["ports"] as? [Int] == [8080])
                let web = #"/bin/sh -c 'httpd -f -p "$PORT" -h /srv'"#
                #expect((handoff.body["process_types"] as? [String: String])?["web"] == web, "\(String(describing: handoff.body["process_types"]))")
                let encodedManifest = try #require(handoff.body["manifest"] as? String)
                let manifestBytes = try #require(Data(base64Encoded: encodedManifest))
                let manifest = try #require(try JSONSerialization.jsonObject(with: manifestBytes) as? [String: Any])
                #expect(manifest["format"] as? String == "oci-image" && manifest["sha256"] as? String == String(digest.dropFirst(7)))
                #expect((manifest["image"] as? [String: Any])?["reference"] as? String == image && (manifest["process_types"] as? [String: String])?["web"] == web)
                let farmKeys = try await farm.kiln("farm-keys", "list")
                #expect((manifest["key_id"] as? String).map { farmKeys.output.contains($0) } == true, "\(manifest) \(farmKeys.output)")
                try manifestBytes.write(to: scratch.appendingPathComponent("manifest.json"))
                let encodedSignature = try #require(handoff.body["manifest_signature"] as? String)
                try #require(Data(base64Encoded: encodedSignature)).write(to: scratch.appendingPathComponent("manifest.sig"))
                let checked = try await sh("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", scratch.appendingPathComponent("manifest.json").path,
                                                       "-sigfile", scratch.appendingPathComponent("manifest.sig").path])
                #expect(checked.output.contains("Signature Verified Successfully"), "\(checked.output)")

                // A config change releases the same image; a rollback returns to it.
                let set = try await farm.kiln("config", "set", "--app", "web", "GREETING=hi")
                #expect(set.succeeded && set.output.contains("Released web v2: Set GREETING by admin"), "\(set.output)")
                let rolled = try await farm.kiln("rollback", "--app", "web", "v1")
                #expect(rolled.succeeded && rolled.output.contains("web v3: Rollback to v1 (\(image), config v0)"), "\(rolled.output)")
                let all = try await ReleaseHandoffTests.waitFor(3, in: inbox, secret: secret, seconds: 30)
                #expect(all.count == 3 && all.allSatisfy { ($0.body["image"] as? [String: Any])?["reference"] as? String == image }, "\(all.map(\.body))")
                #expect(all.map { ($0.body["config"] as? [String: Any])?["version"] as? Int } == [0, 1, 0])
            }
        }
    }
}
