import Foundation
import KilnProcess
import KilnTestSupport
import Synchronization
import Testing

/// Hot upgrades with the real Erlang/OTP and Elixir: a counter app built as
/// a `mix release`, started from its slug as a real node in the sandbox,
/// upgraded in place by a `KILN-HOT: true` push and the slug's
/// `bin/hot-upgrade`, as a deployer would run it, and downgraded back. One
/// at a time: each builds Elixir releases, and together they would crowd the
/// timing of the other suites on a 2-core machine.
@Suite(.serialized) struct HotUpgradeTests {
    /// The node's distribution for the deployer's command to reach it: long
    /// names on loopback (the sandbox has its own host name) and a private epmd.
    static func nodeEnvironment() throws -> [String: String] {
        ["RELEASE_DISTRIBUTION": "name", "RELEASE_NODE": "hot_sample@127.0.0.1", "ERL_EPMD_PORT": "\(try KilnFarm.freePort())",
         "HOT_GREETING": "set-at-boot"]
    }

    /// Writes the counter's next version over the repository (hot-app-upgrade),
    /// sets `version:` in mix.exs, and commits.
    static func commitUpgrade(in repo: URL, version: String, extra: [String: String] = [:]) async throws {
        let overlay = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/hot-app-upgrade")
        try await sh("cp", ["-a", overlay.path + "/.", repo.path])
        try await setVersion(version, in: repo)
        try writeFiles(extra, in: repo)
        try await sh("git", ["add", "-A"], in: repo)
        try await sh("git", ["commit", "-qm", "counter \(version)"], in: repo)
    }

    static func setVersion(_ version: String, in repo: URL) async throws {
        let mix = repo.appendingPathComponent("mix.exs")
        let text = try String(contentsOf: mix, encoding: .utf8).replacing(/version: "[^"]+"/, with: "version: \"\(version)\"")
        try text.write(to: mix, atomically: true, encoding: .utf8)
    }

    static func push(_ farm: KilnFarm, _ app: String, key: String, repo: URL, header: String? = nil) async throws -> Command.Outcome {
        try await sh("git", (header.map { ["-c", "http.extraheader=\($0): true"] } ?? []) + ["push", farm.remote(app, key: key), "main"], in: repo)
    }

    static func get(_ port: Int, _ path: String = "/") async throws -> String {
        try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)\(path)"]).check().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// GETs `/` one request after another until `stop` is set (at most 5,000
    /// requests); returns how many answered 200 and how many did not.
    static func load(_ port: Int, until stop: Stop) async throws -> (ok: Int, failed: Int) {
        var ok = 0, failed = 0
        while !stop.flag.load(ordering: .relaxed), ok + failed < 5_000 {
            let outcome = try await Command("curl", ["-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", "http://127.0.0.1:\(port)/"]).run()
            if outcome.output == "200" { ok += 1 } else { failed += 1 }
        }
        return (ok, failed)
    }

    /// Set when a load loop should end.
    final class Stop: Sendable {
        let flag = Atomic(false)
    }

    @Test func aHotPushUpgradesTheRunningNodeInPlaceAndDowngradesBack() async throws {
        let inboxPort = try KilnFarm.freePort()
        let inbox = try TestEnvironment.temporaryDirectory("inbox")
        let secret = "release-service-secret"
        try await withRunning([ReleaseHandoffTests.receiver(port: inboxPort, directory: inbox)]) {
            try await KilnFarm.with(workers: 1) { farm in
                let key = try await farm.createApp("counter")
                let set = try await farm.kiln("apps", "set", "--app", "counter", "--release-webhook", "http://127.0.0.1:\(inboxPort)/releases",
                                              "--release-webhook-secret", secret)
                try #require(set.succeeded, "\(set.output)")
                let repo = try await makeGitRepository(copying: "hot-app")
                let first = try await Self.push(farm, "counter", key: key, repo: repo)
                try #require(first.succeeded, "\(first.output)")
                let running = try await farm.newestSlug(app: "counter")
                let environment = try Self.nodeEnvironment()

                try await SlugRun.serving(slugDirectory: running, environment: environment) { node in
                    for _ in 0..<5 { _ = try await Self.get(node.port, "/bump") }
                    let before = try await Self.get(node.port)
                    let pid = try #require(before.firstMatch(of: /pid=(\d+)/)?.1)
                    #expect(before == "version=0.1.0 count=5 pid=\(pid)")
                    #expect(try await Self.get(node.port, "/greeting") == "greeting=set-at-boot")

                    try await Self.commitUpgrade(in: repo, version: "0.2.0")
                    let hot = try await Self.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
                    try #require(hot.succeeded, "\(hot.output)")
                    // The generated appup is printed: the GenServer with code_change is updated, the page reloaded after it.
                    #expect(hot.output.contains("Hot upgrade: hot_sample 0.1.0 -> 0.2.0"), "\(hot.output)")
                    #expect(hot.output.contains("{update,'Elixir.HotSample.Counter',{advanced,[]},[]}"), "\(hot.output)")
                    #expect(hot.output.contains("{load_module,'Elixir.HotSample.Page',['Elixir.HotSample.Counter']}"), "\(hot.output)")

                    let upgrade = try await farm.newestSlug(app: "counter")
                    let manifest = try String(contentsOf: upgrade.appendingPathComponent("manifest.json"), encoding: .utf8)
                    #expect(manifest.contains(#""from" : "0.1.0""#) && manifest.contains(#""to" : "0.2.0""#), "\(manifest)")
                    let unpacked = try TestEnvironment.temporaryDirectory("upgrade")
                    try await Command("tar", ["--zstd", "-xf", upgrade.appendingPathComponent("slug.tar.zst").path, "-C", unpacked.path]).check()
                    let command = unpacked.appendingPathComponent("app/_build/prod/rel/hot_sample/bin/hot-upgrade").path
                    let target = node.app.appendingPathComponent("_build/prod/rel/hot_sample").path

                    // Requests run back to back while the node is upgraded: none may fail.
                    let stop = Stop()
                    async let traffic = Self.load(node.port, until: stop)
                    try await Task.sleep(for: .milliseconds(300))
                    let applied = try await Command(command, [target], environment: environment).run()
                    try await Task.sleep(for: .milliseconds(300))
                    stop.flag.store(true, ordering: .relaxed)
                    let (ok, failed) = try await traffic
                    #expect(applied.succeeded && applied.output.contains("installed 0.2.0 over 0.1.0"), "\(applied.output)")
                    #expect(failed == 0 && ok > 10, "\(ok) requests answered, \(failed) failed during the upgrade")

                    #expect(try await Self.get(node.port) == "version=0.2.0 count=5 pid=\(pid)")
                    #expect(try await Self.get(node.port, "/bumps") == "bumps=0")
                    #expect(try await Self.get(node.port, "/bump") == "count=6")
                    #expect(try await Self.get(node.port, "/bumps") == "bumps=1")
                    // config/runtime.exs was evaluated for 0.2.0 on the node: install_release did not wipe it.
                    #expect(applied.output.contains("the runtime config of 0.2.0 was evaluated on the node"), "\(applied.output)")
                    #expect(try await Self.get(node.port, "/greeting") == "greeting=set-at-boot")

                    let again = try await Command(command, [target], environment: environment).run()
                    #expect(!again.succeeded && again.output.contains("0.2.0 is already permanent"), "\(again.output)")

                    let down = try await Command(command, [target, "--down"], environment: environment).run()
                    #expect(down.succeeded && down.output.contains("installed 0.1.0 (down from 0.2.0)"), "\(down.output)")
                    #expect(try await Self.get(node.port) == "version=0.1.0 count=6 pid=\(pid)")
                    #expect(try await Self.get(node.port, "/greeting") == "greeting=set-at-boot")
                }

                let releases = try await farm.kiln("releases", "--app", "counter")
                #expect(releases.output.contains("hot 0.1.0->0.2.0") && releases.output.contains("restart"), "\(releases.output)")
                let deliveries = try await ReleaseHandoffTests.waitFor(2, in: inbox, secret: secret, seconds: 30)
                try #require(deliveries.count == 2, "\(deliveries.map(\.body))")
                #expect(deliveries[0].body["hot"] == nil)
                let handedOff = try #require(deliveries[1].body["hot"] as? [String: String], "\(deliveries[1].body)")
                #expect(handedOff == ["release": "hot_sample", "from": "0.1.0", "to": "0.2.0", "command": "_build/prod/rel/hot_sample/bin/hot-upgrade"])

                // A rollback to the hot build's slug is a new release, deployed by restart.
                let rollback = try await farm.kiln("rollback", "--app", "counter", "v2")
                try #require(rollback.succeeded, "\(rollback.output)")
                let all = try await ReleaseHandoffTests.waitFor(3, in: inbox, secret: secret, seconds: 30)
                try #require(all.count == 3, "\(all.map(\.body))")
                #expect(all[2].body["description"] as? String == "Rollback to v2" && all[2].body["hot"] == nil, "\(all[2].body)")
                let after = try await farm.kiln("releases", "--app", "counter")
                let v3 = try #require(after.output.split(separator: "\n").first { $0.hasPrefix("v3") }, "\(after.output)")
                #expect(v3.contains("restart") && v3.contains("Rollback to v2"), "\(after.output)")
            }
        }
    }

    @Test func hotPushesThatCannotUpgradeFailWithTheReason() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("counter")
            let repo = try await makeGitRepository(copying: "hot-app")
            let first = try await Self.push(farm, "counter", key: key, repo: repo, header: "GIGALIXIR-HOT")
            #expect(!first.succeeded && first.output.contains("counter has no release yet to upgrade from"), "\(first.output)")
            #expect(first.output.contains("A push without KILN-HOT: true deploys this commit by restart"), "\(first.output)")
            try #require(try await Self.push(farm, "counter", key: key, repo: repo).succeeded)

            // Changed code under the same version.
            try await Self.commitUpgrade(in: repo, version: "0.1.0")
            let unbumped = try await Self.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
            #expect(!unbumped.succeeded, "\(unbumped.output)")
            #expect(unbumped.output.contains("Hot upgrade refused: this commit's release hot_sample is version 0.1.0, and the running release is 0.1.0"), "\(unbumped.output)")
            #expect(unbumped.output.contains("bump `version:` in mix.exs (for example to 0.1.1)"), "\(unbumped.output)")

            // A NIF library appears (what it holds does not matter to the check: a changed file is enough).
            try await Self.commitUpgrade(in: repo, version: "0.2.0", extra: ["priv/native/counter_nif.so": "not really a shared object\n"])
            let nif = try await Self.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
            #expect(!nif.succeeded && nif.output.contains("hot_sample: the NIF library priv/native/counter_nif.so was added"), "\(nif.output)")
            try await sh("git", ["rm", "-q", "priv/native/counter_nif.so"], in: repo)

            // A new child under the application's supervisor: the top of the tree changed.
            let application = try String(contentsOf: repo.appendingPathComponent("lib/hot_sample/application.ex"), encoding: .utf8)
            try await Self.commitUpgrade(in: repo, version: "0.2.0", extra: [
                "lib/hot_sample/application.ex": application.replacing("[HotSample.Counter,", with: "[{Registry, keys: :unique, name: HotSample.Names}, HotSample.Counter,"),
            ])
            let top = try await Self.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
            #expect(!top.succeeded && top.output.contains("its application callback HotSample.Application changed"), "\(top.output)")

            // Not an Elixir release at all, built hot from a source archive (`kiln builds create --hot`).
            let staticKey = try await farm.createApp("pages")
            // Its source carries an upgrade record of its own making: only a builder's record of the build counts.
            let pages = try await makeGitRepository(["index.html": "<p>v1</p>", "upgrade*": "#!/bin/sh\n",
                                                     ".kiln/upgrade.json": #"{"release": "pages", "from": "1", "to": "2", "command": "upgrade"}"#])
            try #require(try await Self.push(farm, "pages", key: staticKey, repo: pages).succeeded)
            let served = try TestEnvironment.temporaryDirectory("archives")
            try await sh("git", ["archive", "-o", served.appendingPathComponent("pages.tar.gz").path, "HEAD"], in: pages)
            let port = try KilnFarm.freePort()
            try await withRunning([Command("python3", ["-m", "http.server", "-b", "127.0.0.1", "\(port)", "-d", served.path])]) {
                try await KilnFarm.waitForListener("http://127.0.0.1:\(port)/")
                let notOTP = try await farm.kiln("builds", "create", "--app", "pages", "--source-url", "http://127.0.0.1:\(port)/pages.tar.gz", "--hot")
                #expect(!notOTP.succeeded && notOTP.output.contains("made no OTP upgrade; only an Elixir release (mix release) can be upgraded in place"), "\(notOTP.output)")
            }
            let builds = try await farm.kiln("releases", "--app", "counter")
            #expect(builds.output.split(separator: "\n").count == 2, "one release, from the one push that deployed: \(builds.output)")
        }
    }

    @Test func anAppupTheAppShipsIsUsedInsteadOfTheGeneratedOne() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("counter")
            let repo = try await makeGitRepository(copying: "hot-app")
            try #require(try await Self.push(farm, "counter", key: key, repo: repo).succeeded)
            // Its own extra term for code_change, which a generated appup never has.
            let shipped = """
                {"0.2.0",
                 [{"0.1.0", [{update, 'Elixir.HotSample.Counter', {advanced, from_the_shipped_appup}}, {load_module, 'Elixir.HotSample.Page'}]}],
                 [{"0.1.0", [{update, 'Elixir.HotSample.Counter', {advanced, from_the_shipped_appup}}, {load_module, 'Elixir.HotSample.Page'}]}]}.

                """
            try await Self.commitUpgrade(in: repo, version: "0.2.0", extra: ["rel/appups/hot_sample/0.1.0_to_0.2.0.appup": shipped])
            let hot = try await Self.push(farm, "counter", key: key, repo: repo, header: "KILN-HOT")
            try #require(hot.succeeded, "\(hot.output)")
            #expect(hot.output.contains("using the appup the app ships (rel/appups/hot_sample/0.1.0_to_0.2.0.appup)"), "\(hot.output)")
            #expect(!hot.output.contains("generated appup"), "\(hot.output)")
            let slug = try await farm.newestSlug(app: "counter")
            let relup = try await Command("tar", ["--zstd", "-xOf", slug.appendingPathComponent("slug.tar.zst").path,
                                                  "app/_build/prod/rel/hot_sample/releases/0.2.0/relup"]).check()
            #expect(relup.contains("{code_change,up,[{'Elixir.HotSample.Counter',from_the_shipped_appup}]}"), "\(relup)")
        }
    }
}
