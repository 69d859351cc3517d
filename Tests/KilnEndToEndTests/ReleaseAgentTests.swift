import Foundation
import KilnProcess
import KilnSigning
import KilnTestSupport
import KilnWebhook
import Synchronization
import Testing

/// `kiln release-agent`, the reference release service, as a real process
/// beside a real farm: the farm's hand-offs are deployed behind each app's
/// stable port, swaps lose no request, a hot push is applied in place, a web
/// process that exits fails its release, and forged hand-offs are refused.
/// Every wait on the agent is its deploys long-poll.
@Suite(.serialized) struct ReleaseAgentTests {
    static let secret = "release-agent-e2e-secret"

    /// A `kiln release-agent` on a free port, pinned to `farm`, trusting its key and asking it for revocations.
    struct Agent: Sendable {
        let port: Int
        let appsDirectory: URL
        let command: Command

        static func make(for farm: KilnFarm, appsDirectory: URL? = nil, options: [String] = []) async throws -> Agent {
            let port = try KilnFarm.freePort()
            let directory = try appsDirectory ?? TestEnvironment.temporaryDirectory("agent")
            let pem = directory.appendingPathComponent("farm.pem")
            let keys = try await farm.kiln("farm-keys", "public", "--all")
            try #require(keys.succeeded, "\(keys.output)")
            try keys.output.write(to: pem, atomically: true, encoding: .utf8)
            let secretFile = try ReleaseAgentTests.secretFile(in: directory)
            let command = Command(TestEnvironment.binary, ["release-agent", "--listen", "127.0.0.1:\(port)", "--secret-file", secretFile.path,
                                                          "--apps-dir", directory.appendingPathComponent("apps").path, "--public-key", pem.path,
                                                          "--farm", farm.server] + options)
            return Agent(port: port, appsDirectory: directory.appendingPathComponent("apps"), command: command)
        }

        var url: String { "http://127.0.0.1:\(port)" }

        /// The agent's outcomes of `app` after the first `after`, waiting for them (the agent's long-poll, 120 s a call, `rounds` calls at most).
        func deploys(_ app: String, after: Int, rounds: Int = 5) async throws -> [[String: Any]] {
            for _ in 0..<rounds {
                let answer = try await Command("curl", ["-sf", "-m", "130", "\(url)/apps/\(app)/deploys?after=\(after)&wait=120"]).run()
                guard answer.succeeded else { throw TestSetupError("the agent's deploys of \(app) did not answer: \(answer.output)") }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any], "\(answer.output)")
                let deploys = try #require(object["deploys"] as? [[String: Any]], "\(answer.output)")
                if !deploys.isEmpty { return deploys }
            }
            throw TestSetupError("the agent reported no outcome of \(app) after \(after)")
        }

        func app(_ app: String) async throws -> [String: Any] {
            let answer = try await Command("curl", ["-sf", "-m", "10", "\(url)/apps/\(app)"]).check()
            return try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
        }

        /// POSTs `body` to the agent's `/releases` as the farm would, with `signature`; returns the HTTP status and body.
        func post(_ body: Data, signature: String, key: String) async throws -> (status: Int, body: String) {
            let file = try TestEnvironment.temporaryDirectory("handoff").appendingPathComponent("body.json")
            try body.write(to: file)
            let outcome = try await Command("curl", ["-s", "-m", "20", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                                                     "-H", "X-Kiln-Signature: \(signature)", "-H", "Idempotency-Key: \(key)",
                                                     "--data-binary", "@\(file.path)", "\(url)/releases"]).check()
            let lines = outcome.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
    }

    /// The secret in an owner-only file of `directory`, as an operator keeps it (not on the command line).
    static func secretFile(in directory: URL, secret: String = ReleaseAgentTests.secret) throws -> URL {
        let file = directory.appendingPathComponent("agent-secret")
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]), chmod(file.path, 0o600) == 0 else {
            throw TestSetupError("cannot create \(file.path)")
        }
        try Data((secret + "\n").utf8).write(to: file)
        return file
    }

    /// An app that serves `public/` with Python on 127.0.0.1:$PORT, and its GREETING config var as `/greeting.txt`.
    static func servingRepository(_ text: String) async throws -> URL {
        try await makeGitRepository([
            "Procfile": "web: printf '%s' \"${GREETING:-unset}\" > public/greeting.txt; exec python3 -m http.server \"$PORT\" --bind 127.0.0.1 --directory public\n",
            "public/index.html": text,
        ])
    }

    static func commit(_ files: [String: String], in repo: URL, message: String) async throws {
        try writeFiles(files, in: repo)
        try await sh("git", ["add", "-A"], in: repo)
        try await sh("git", ["commit", "-qm", message], in: repo)
    }

    static func get(_ port: Int, _ path: String = "/") async throws -> String {
        try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)\(path)"]).check().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What a client asking the stable port one request after another saw: answers before and after the change, and failures.
    struct Traffic: Sendable {
        var before = 0, after = 0, failed = 0
    }

    /// GETs `/` of `port` one request after another until `stop` is set and three answers came from the new
    /// release (`isNew`), at most 5,000 requests: the traffic spans the change whatever the host's speed.
    static func load(_ port: Int, until stop: HotUpgradeTests.Stop, isNew: @escaping @Sendable (String) -> Bool) async throws -> Traffic {
        var traffic = Traffic()
        while !(stop.flag.load(ordering: .relaxed) && traffic.after >= 3), traffic.before + traffic.after + traffic.failed < 5_000 {
            let outcome = try await Command("curl", ["-sf", "-m", "2", "http://127.0.0.1:\(port)/"]).run()
            if !outcome.succeeded { traffic.failed += 1 } else if isNew(outcome.output) { traffic.after += 1 } else { traffic.before += 1 }
        }
        return traffic
    }

    /// Sets the app's release webhook to the agent.
    static func pointWebhook(_ farm: KilnFarm, app: String, at agent: Agent) async throws {
        let set = try await farm.kiln("apps", "set", "--app", app, "--release-webhook", "\(agent.url)/releases", "--release-webhook-secret", secret)
        try #require(set.succeeded, "\(set.output)")
    }

    @Test func pushesAreDeployedBehindTheStablePortWithoutLosingARequestAndAFailingWebIsReported() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let stable = try KilnFarm.freePort()
            let agent = try await Agent.make(for: farm, options: ["--app-port", "shop=\(stable)", "--boot-timeout", "120s"])
            let key = try await farm.createApp("shop")
            let repo = try await Self.servingRepository("shop v1")
            let (recorded, serving) = try await withRunning([agent.command]) {
                try await KilnFarm.waitForListener("\(agent.url)/health")
                try await Self.pointWebhook(farm, app: "shop", at: agent)
                let first = try await sh("git", ["push", farm.remote("shop", key: key), "main"], in: repo)
                try #require(first.succeeded, "\(first.output)")
                let deployed = try await agent.deploys("shop", after: 0)
                try #require(deployed.first?["outcome"] as? String == "succeeded" && deployed.first?["version"] as? Int == 1, "\(deployed)")
                #expect(try await Self.get(stable) == "shop v1")
                let shown = try await agent.app("shop")
                #expect(shown["port"] as? Int == stable && shown["version"] as? Int == 1 && shown["state"] as? String == "running", "\(shown)")

                // A second push while a client asks the stable port one request after another: none may fail.
                try await Self.commit(["public/index.html": "shop v2"], in: repo, message: "v2")
                let stop = HotUpgradeTests.Stop()
                async let traffic = Self.load(stable, until: stop) { $0.contains("shop v2") }
                let second = try await sh("git", ["push", farm.remote("shop", key: key), "main"], in: repo)
                try #require(second.succeeded, "\(second.output)")
                let swapped = try await agent.deploys("shop", after: 1)
                stop.flag.store(true, ordering: .relaxed)
                let seen = try await traffic
                #expect(swapped.first?["outcome"] as? String == "succeeded" && swapped.first?["version"] as? Int == 2, "\(swapped)")
                #expect(seen.failed == 0 && seen.before > 0 && seen.after >= 3,
                        "\(seen.before) answers from v1, \(seen.after) from v2, \(seen.failed) failed across the swap")
                #expect(try await Self.get(stable) == "shop v2")
                #expect(try await Self.get(stable, "/greeting.txt") == "unset")

                // A config change is a release of the running slug with the new config: the agent restarts it with the value.
                let configured = try await farm.kiln("config", "set", "--app", "shop", "GREETING=hello from config")
                #expect(configured.succeeded && configured.output.contains("Released shop v3: Set GREETING by admin"), "\(configured.output)")
                let reconfigured = try await agent.deploys("shop", after: 2)
                #expect(reconfigured.first?["outcome"] as? String == "succeeded" && reconfigured.first?["version"] as? Int == 3, "\(reconfigured)")
                #expect(try await Self.get(stable, "/greeting.txt") == "hello from config")
                #expect(try await Self.get(stable) == "shop v2")

                // A web process that exits before it answers: the release fails with its status and output, v3 keeps serving.
                try await Self.commit(["Procfile": "web: echo \"DATABASE_URL is not set\" >&2; exit 1\n"], in: repo, message: "broken")
                let fourth = try await sh("git", ["push", farm.remote("shop", key: key), "main"], in: repo)
                try #require(fourth.succeeded, "\(fourth.output)")
                let broken = try await agent.deploys("shop", after: 3)
                let reason = broken.first?["reason"] as? String ?? ""
                #expect(broken.first?["outcome"] as? String == "failed" && broken.first?["version"] as? Int == 4, "\(broken)")
                #expect(reason.hasPrefix("web exited with status 1 before answering: ") && reason.contains("DATABASE_URL is not set"), "\(reason)")
                #expect(try await Self.get(stable, "/greeting.txt") == "hello from config")
                // The agent reports the failure before it records it, so the farm has recorded v4 failed and rolled back
                // to v3, the last release that succeeded, as v5, which the agent deploys by restart (v3's slug and config).
                let releases = try await farm.kiln("releases", "--app", "shop")
                let v4 = releases.output.split(separator: "\n").first { $0.hasPrefix("v4 ") } ?? ""
                let v5 = releases.output.split(separator: "\n").first { $0.hasPrefix("v5 ") } ?? ""
                #expect(v4.contains("failed (web exited with status 1 before answering"), "\(releases.output)")
                #expect(v5.contains("Rollback to v3: v4 failed (web exited with status 1 before answering"), "\(releases.output)")
                let rolledBack = try await agent.deploys("shop", after: 4)
                #expect(rolledBack.first?["outcome"] as? String == "succeeded" && rolledBack.first?["version"] as? Int == 5, "\(rolledBack)")
                #expect(try await Self.get(stable) == "shop v2")
                #expect(try await Self.get(stable, "/greeting.txt") == "hello from config")
                let reported = try await farm.kiln("releases", "--app", "shop")
                #expect(reported.output.split(separator: "\n").first { $0.hasPrefix("v5 ") }?.contains("succeeded") == true, "\(reported.output)")
                let outcomes = 5, serving = 5
                let after = try await agent.app("shop")
                #expect(after["version"] as? Int == serving && after["state"] as? String == "running", "\(after)")
                let kept = try FileManager.default.contentsOfDirectory(atPath: agent.appsDirectory.appendingPathComponent("shop").path)
                #expect(Set(kept.filter { $0.hasPrefix("v") }) == ["v3", "v5"], "the two newest releases that ran: \(kept)")

                try await Self.forgedHandoffsAreRefused(farm, agent: agent, after: outcomes, serving: serving)
                return (outcomes + 1, serving)
            }

            // The agent started again starts the app's current release again, on the same stable port.
            let again = try await Agent.make(for: farm, appsDirectory: agent.appsDirectory.deletingLastPathComponent(), options: ["--app-port", "shop=\(stable)"])
            try await withRunning([again.command]) {
                try await KilnFarm.waitForListener("\(again.url)/health")
                // The outcomes recorded before (deploys and refusals) are kept; the next is the start.
                let restarted = try await again.deploys("shop", after: recorded)
                #expect(restarted.first?["outcome"] as? String == "succeeded" && restarted.first?["version"] as? Int == serving, "\(restarted)")
                #expect(restarted.first?["reason"] as? String == "started again when the agent started", "\(restarted)")
                #expect(try await Self.get(stable) == "shop v2")
            }
        }
    }

    /// Hand-offs the farm never sent: a real release's body altered after it was signed, the same signed 10 minutes ago,
    /// and a body signed with the app's secret whose manifest another farm's key signed. Each is refused and deploys nothing;
    /// only the last, which the farm's secret signed, is in the app's outcomes.
    static func forgedHandoffsAreRefused(_ farm: KilnFarm, agent: Agent, after recorded: Int, serving: Int) async throws {
        let slug = try await farm.newestSlug(app: "shop")
        let manifest = try Data(contentsOf: slug.appendingPathComponent("manifest.json"))
        let signature = try Data(contentsOf: slug.appendingPathComponent("manifest.json.sig"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: manifest) as? [String: Any])
        let sha256 = try #require(parsed["sha256"] as? String)
        func body(manifest: Data, signature: Data, version: Int) throws -> Data {
            try JSONSerialization.data(withJSONObject: [
                "event": "release", "app": "shop", "version": version, "description": "Deploy",
                "slug": ["sha256": sha256, "size": 1, "url": "\(farm.server)/slugs/\(sha256)"],
                "manifest": manifest.base64EncodedString(), "manifest_signature": signature.base64EncodedString(),
                "process_types": ["web": "true"],
            ] as [String: Any], options: [.sortedKeys])
        }
        let genuine = try body(manifest: manifest, signature: signature, version: 40)
        var tampered = genuine
        tampered[try #require(tampered.range(of: Data("40".utf8))).lowerBound] = UInt8(ascii: "9")
        let altered = try await agent.post(tampered, signature: Webhook.timestampedSignature(of: genuine, secret: secret, at: Date()), key: "forged-1")
        #expect(altered.status == 401 && altered.body.contains("no v1 signature of X-Kiln-Signature matches the body"), "\(altered)")
        let stale = try await agent.post(genuine, signature: Webhook.timestampedSignature(of: genuine, secret: secret, at: Date().addingTimeInterval(-600)), key: "forged-2")
        #expect(stale.status == 401 && stale.body.contains("outside the 300 s window"), "\(stale)")

        let strangerKey = try FarmKey.loadOrCreate(at: try TestEnvironment.temporaryDirectory("stranger").appendingPathComponent("farm.key"))
        var foreign = parsed
        foreign["key_id"] = strangerKey.publicKey.id
        let foreignManifest = try JSONSerialization.data(withJSONObject: foreign, options: [.sortedKeys, .prettyPrinted])
        let unknown = try body(manifest: foreignManifest, signature: try strangerKey.sign(foreignManifest), version: 41)
        let refused = try await agent.post(unknown, signature: Webhook.timestampedSignature(of: unknown, secret: secret, at: Date()), key: "forged-3")
        #expect(refused.status == 422 && refused.body.contains("signed by an unknown key: farm key \(strangerKey.publicKey.id)"), "\(refused)")

        // Only the correctly signed refusal is in the app's outcomes (an unsigned body writes nothing); nothing was deployed.
        let outcomes = try await agent.deploys("shop", after: recorded)
        #expect(outcomes.map { $0["outcome"] as? String } == ["refused"], "\(outcomes)")
        #expect(outcomes.first?["version"] as? Int == 41 && (outcomes.first?["reason"] as? String)?.contains("signed by an unknown key") == true, "\(outcomes)")
        let shown = try await agent.app("shop")
        #expect(shown["version"] as? Int == serving, "\(shown)")
    }

    @Test func aHotPushIsAppliedInPlaceByTheAgentWithNoFailedRequest() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let stable = try KilnFarm.freePort()
            let agent = try await Agent.make(for: farm, options: ["--app-port", "counter=\(stable)", "--boot-timeout", "300s"])
            let key = try await farm.createApp("counter")
            // The node's distribution as the app's config vars (set before its first release, so no release of their own):
            // long names on loopback, a private epmd. The agent runs the node and the upgrade command with them.
            let node = try HotUpgradeTests.nodeEnvironment().sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let configured = try await farm.kiln(["config", "set", "--app", "counter"] + node)
            #expect(configured.succeeded && configured.output.contains("No release"), "\(configured.output)")
            let repo = try await makeGitRepository(copying: "hot-app")
            try await withRunning([agent.command]) {
                try await KilnFarm.waitForListener("\(agent.url)/health")
                try await Self.pointWebhook(farm, app: "counter", at: agent)
                let first = try await HotUpgradeTests.push(farm, "counter", key: key, repo: repo)
                try #require(first.succeeded, "\(first.output)")
                let deployed = try await agent.deploys("counter", after: 0)
                try #require(deployed.first?["outcome"] as? String == "succeeded", "\(deployed)")
                for _ in 0..<5 { _ = try await Self.get(stable, "/bump") }
                let before = try await Self.get(stable)
                let pid = try #require(before.firstMatch(of: /pid=(\d+)/)?.1, "\(before)")
                #expect(before == "version=0.1.0 count=5 pid=\(pid)")

                try await HotUpgradeTests.commitUpgrade(in: repo, version: "0.2.0")
                let stop = HotUpgradeTests.Stop()
                async let traffic = Self.load(stable, until: stop) { $0.hasPrefix("version=0.2.0") }
                let hot = try await HotUpgradeTests.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
                try #require(hot.succeeded, "\(hot.output)")
                let applied = try await agent.deploys("counter", after: 1)
                stop.flag.store(true, ordering: .relaxed)
                let seen = try await traffic
                #expect(applied.first?["outcome"] as? String == "succeeded" && applied.first?["version"] as? Int == 2, "\(applied)")
                #expect((applied.first?["reason"] as? String)?.contains("hot upgrade 0.1.0 -> 0.2.0 applied in place") == true, "\(applied)")
                #expect(seen.failed == 0 && seen.before > 0 && seen.after >= 3,
                        "\(seen.before) answers from 0.1.0, \(seen.after) from 0.2.0, \(seen.failed) failed during the hot upgrade")
                // The same node, its state kept, runs the new code.
                #expect(try await Self.get(stable) == "version=0.2.0 count=5 pid=\(pid)")
                #expect(try await Self.get(stable, "/bumps") == "bumps=0")
                let shown = try await agent.app("counter")
                #expect(shown["version"] as? Int == 2 && shown["state"] as? String == "running", "\(shown)")
            }
        }
    }

    @Test func anImageReleaseIsPulledCheckedAndRunBehindTheStablePort() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            try await KilnFarm.with(workers: 1, options: ImageBuildTests.options(registry, base: base)) { farm in
                let stable = try KilnFarm.freePort()
                let agent = try await Agent.make(for: farm, options: ["--app-port", "pics=\(stable)", "--insecure-registry"])
                let key = try await farm.createApp("pics")
                let repo = try await makeGitRepository([
                    "Dockerfile": """
                        FROM \(base)
                        RUN mkdir -p /srv/www && echo "image v1" > /srv/www/index.html
                        RUN cp /bin/busybox /bin/su-copy && busybox chmod 6755 /bin/su-copy && busybox mkfifo /srv/fifo
                        COPY start.sh /srv/start.sh
                        ENTRYPOINT ["/bin/sh", "/srv/start.sh"]
                        """,
                    "start.sh": "exec httpd -f -p \"127.0.0.1:$PORT\" -h /srv/www\n",
                ])
                try await withRunning([agent.command]) {
                    try await KilnFarm.waitForListener("\(agent.url)/health")
                    try await Self.pointWebhook(farm, app: "pics", at: agent)
                    let pushed = try await sh("git", ["push", farm.remote("pics", key: key), "main"], in: repo)
                    try #require(pushed.succeeded, "\(pushed.output)")
                    let deployed = try await agent.deploys("pics", after: 0)
                    #expect(deployed.first?["outcome"] as? String == "succeeded" && deployed.first?["version"] as? Int == 1, "\(deployed)")
                    #expect(try await Self.get(stable) == "image v1")
                    let release = agent.appsDirectory.appendingPathComponent("pics/v1")
                    #expect(FileManager.default.fileExists(atPath: release.appendingPathComponent("layout/index.json").path))
                    #expect(FileManager.default.fileExists(atPath: release.appendingPathComponent("rootfs/srv/www/index.html").path))
                    // The image's layers carry a setuid and setgid copy of busybox and a fifo; the unpacked root has neither.
                    let layers = try await sh("sh", ["-c", "for b in blobs/sha256/*; do tar -tvf \"$b\" 2>/dev/null; done"], in: release.appendingPathComponent("layout"))
                    #expect(layers.output.contains("rwsr-sr-x") && layers.output.contains("bin/su-copy"), "\(layers.output)")
                    let copy = try FileManager.default.attributesOfItem(atPath: release.appendingPathComponent("rootfs/bin/su-copy").path)
                    #expect((copy[.posixPermissions] as? Int).map { $0 & 0o6000 } == 0, "\(copy)")
                    #expect((try? FileManager.default.attributesOfItem(atPath: release.appendingPathComponent("rootfs/srv/fifo").path)) == nil)

                    // An image no build made, released by digest: copied into the farm's registry, signed, handed off, run.
                    let made = try await registry.pushBusyboxBase(as: "outside/pics:2", config: [
                        "--entrypoint", #"["/bin/sh", "-c"]"#, "--cmd", #"["echo released by digest > /tmp/index.html; exec httpd -f -p 127.0.0.1:$PORT -h /tmp"]"#,
                        "--port", "8080",
                    ])
                    let digest = try #require(try await registry.inspect(made)["Digest"] as? String)
                    let created = try await farm.kiln("releases", "create", "--app", "pics", "--image", "\(registry.host)/outside/pics@\(digest)")
                    #expect(created.succeeded && created.output.contains("pics v2: Deploy image"), "\(created.output)")
                    let imageRelease = try await agent.deploys("pics", after: 1)
                    #expect(imageRelease.first?["outcome"] as? String == "succeeded" && imageRelease.first?["version"] as? Int == 2, "\(imageRelease)")
                    #expect(try await Self.get(stable) == "released by digest")
                }
            }
        }
    }
}
