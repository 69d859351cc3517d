import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// A farm of five hosts on one machine: one network namespace each, joined
/// by a Linux bridge. PostgreSQL and the S3 store (moto) on `db`, the server
/// on `server`, a worker on each of `w1`, `w2`, `w3`, every worker with a
/// home of its own: they share PostgreSQL and the bucket and nothing else.
/// The buildpack is a tarball served over HTTP from `db`.
@Suite(.serialized) struct FarmAcrossHostsTests {
    @Test func threeWorkersOnThreeHostsShareTheWorkAndOneCutOffIsRescuedAndFencedOut() async throws {
        let cluster = try await TestCluster.create(hosts: ["db", "server", "w1", "w2", "w3"])
        defer { cluster.destroy() }
        let scratch = try TestEnvironment.temporaryDirectory("cluster")
        let db = cluster.address("db"), serverAddress = cluster.address("server")
        let postgres = try await TCPPostgres.start(in: scratch, address: db, allowing: cluster.subnet, namespace: cluster.namespace("db"))
        defer { postgres.stop() }
        let database = try DatabaseURL(postgres.url)
        try await Self.withDatabase(database) { try await Migrations.apply(on: $0) }

        // The buildpack: detect, then a compile slow enough to cut a worker off in the middle of.
        let pack = scratch.appendingPathComponent("pack")
        try writeFiles([
            "bin/detect*": "#!/bin/sh\necho Slow\n",
            "bin/compile*": "#!/bin/sh\nsteps=$(cat \"$3/STEPS\" 2>/dev/null || echo 3)\nfor i in $(seq 1 $steps); do echo \"step $i\"; sleep 1; done\n",
        ], in: pack)
        let served = scratch.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        _ = try await sh("tar", ["-czf", served.appendingPathComponent("slow.tgz").path, "-C", pack.path, "bin"])
        let buildpackServer = Command("ip", ["netns", "exec", cluster.namespace("db"), "python3", "-m", "http.server", "-b", db, "8088", "-d", served.path])

        try await ObjectStoreServer.with(host: db, namespace: cluster.namespace("db")) { s3 in
            try await s3.createBucket("cluster")
            let store = ["--blob-store", "s3://cluster", "--s3-endpoint", s3.endpoint]
            let environment = s3.environment.merging(["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]) { $1 }
            let serverHome = try TestEnvironment.temporaryDirectory("cluster-server")
            let url = "http://\(serverAddress):8750"
            let server = Command("ip", ["netns", "exec", cluster.namespace("server"), TestEnvironment.binary, "server", "--database-url", database.text,
                                        "--home", serverHome.path, "--host", serverAddress, "--port", "8750", "--public-url", url] + store + TestEnvironment.trustedFetchOptions + ["--allow-fetch-from", cluster.subnet], environment: environment)
            try await withRunning([server, buildpackServer]) {
                try await KilnFarm.waitForHealth(url, log: serverHome.appendingPathComponent("none"))
                try await KilnFarm.waitForListener("http://\(db):8088/slow.tgz")
                var workers: [Command] = []
                for name in ["w1", "w2", "w3"] {
                    let home = try TestEnvironment.temporaryDirectory("cluster-\(name)")
                    try ObjectStoreFarmTests.shareKeys(from: serverHome, to: home)
                    // nsenter, not `ip netns exec`, which mounts a sysfs of its own and so hides the cgroups the worker's limits need.
                    workers.append(Command("nsenter", ["--net=/run/netns/\(cluster.namespace(name))", "--", TestEnvironment.binary, "worker", "--database-url", database.text,
                                                  "--home", home.path, "--name", name, "--capacity", "1", "--lease", "4", "--poll-interval", "0.5"] + store + TestEnvironment.trustedFetchOptions + ["--allow-fetch-from", cluster.subnet],
                                           environment: environment))
                }
                try await withRunning(workers) {
                    let token = "kiln_admin_test_\(UUID().uuidString)"
                    try await Self.withDatabase(database) { try await Catalog(database: $0).registerAdminKey(token) }
                    let farm = KilnFarm(home: serverHome, port: 8750, server: url, token: token)
                    try await Self.waitForWorkers(["w1", "w2", "w3"], farm: farm)
                    let buildpack = ".buildpacks"
                    let tarball = "http://\(db):8088/slow.tgz\n"

                    // Six pushes at once: all three hosts take part.
                    let apps = (1...6).map { "spread\($0)" }
                    var keys: [String: String] = [:]
                    for app in apps { keys[app] = try await farm.createApp(app) }
                    let repo = try await makeGitRepository(["Procfile": "web: ./run\n", buildpack: tarball])
                    try await withThrowingTaskGroup(of: Command.Outcome.self) { group in
                        for app in apps {
                            let remote = farm.remote(app, key: keys[app]!)
                            group.addTask { try await sh("git", ["push", remote, "main"], in: repo) }
                        }
                        for try await pushed in group { #expect(pushed.succeeded, "\(pushed.output)") }
                    }
                    let listed = try await farm.kiln("builds", "list", "--json")
                    let builds = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
                    let ranOn = Set(builds.compactMap { $0["worker"] as? String })
                    #expect(ranOn == ["w1", "w2", "w3"], "builds ran on \(ranOn)")

                    // A worker cut off mid-build: its build is rescued elsewhere once the lease runs out.
                    let key = try await farm.createApp("cut")
                    #expect(try await farm.kiln("config", "set", "--app", "cut", "STEPS=12").succeeded)
                    let cutRepo = try await makeGitRepository(["Procfile": "web: ./run\n", buildpack: tarball])
                    let remote = farm.remote("cut", key: key)
                    let push = Task { try await sh("git", ["push", remote, "main"], in: cutRepo) }
                    let id = "b-7"
                    var victim: String?
                    for _ in 0..<200 where victim == nil {
                        let build = try await Self.build(id, farm: farm)
                        // Cut once the compile is under way (the worker has logged a step).
                        if build?["state"] as? String == "running", let worker = build?["worker"] as? String,
                           try await farm.kiln("logs", id).output.contains("step 1") {
                            victim = worker
                        } else {
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    let cut = try #require(victim, "the build never started")
                    try await cluster.cut(cut)
                    let cutAt = ContinuousClock.now
                    var rescuer: String?
                    for _ in 0..<300 where rescuer == nil {
                        let build = try await Self.build(id, farm: farm)
                        if let worker = build?["worker"] as? String, worker != cut { rescuer = worker } else { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    let rescueTime = ContinuousClock.now - cutAt
                    try #require(rescuer != nil, "no other worker took the build of \(cut)")
                    print("rescued on \(rescuer!) \(rescueTime.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))) after \(cut) was cut off")
                    try await cluster.restore(cut)
                    let pushed = try await push.value
                    #expect(pushed.succeeded, "\(pushed.output)")

                    // The cut-off worker comes back, its late result is fenced out: one release.
                    try await Self.waitForWorkers([cut], farm: farm)
                    try await Task.sleep(for: .seconds(14))
                    let final = try #require(try await Self.build(id, farm: farm))
                    #expect(final["state"] as? String == "succeeded" && final["attempts"] as? Int == 2 && final["worker"] as? String == rescuer, "\(final)")
                    let releases = try await farm.kiln("releases", "--app", "cut", "--json")
                    #expect(releases.output.components(separatedBy: "\"version\"").count == 2, "one release: \(releases.output)")
                }
            }
        }
    }

    /// The test's own use of the cluster's PostgreSQL, across the bridge
    /// into its namespace: a fresh client each time, tried again (a few
    /// times) when a loaded host makes its first connections fail and the
    /// client's pool gives up (`connectionCreationCircuitBreakerTripped`).
    static func withDatabase(_ url: DatabaseURL, _ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await Database.with(url: url, logger: TestEnvironment.logger, body)
            } catch where attempt < 4 {
                print("the cluster's PostgreSQL could not be used (attempt \(attempt)): \(error); trying again with a new client")
                try await Task.sleep(for: .seconds(attempt))
            }
        }
    }

    static func build(_ id: String, farm: KilnFarm) async throws -> [String: Any]? {
        let shown = try await farm.kiln("builds", "show", id, "--json")
        guard shown.succeeded else { return nil }
        return try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any]
    }

    /// Waits until each named worker is registered and alive.
    static func waitForWorkers(_ names: Set<String>, farm: KilnFarm) async throws {
        var alive: Set<String> = []
        for _ in 0..<300 {
            let listed = try await farm.kiln("workers", "--json")
            let workers = (try? JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]) ?? []
            alive = Set(workers.filter { ($0["lost"] as? Bool) == false }.compactMap { $0["name"] as? String })
            if names.isSubset(of: alive) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("workers \(names.subtracting(alive)) are not alive")
    }
}

/// Hosts as network namespaces on a bridge of 10.214.N.0/24; the root
/// namespace (the test, the pusher) is 10.214.N.1 on the bridge.
struct TestCluster: Sendable {
    let tag: String
    let octet: Int
    let hosts: [String]

    var bridge: String { "kb\(tag)" }
    var subnet: String { "10.214.\(octet).0/24" }
    func namespace(_ host: String) -> String { "kc-\(tag)-\(host)" }
    func address(_ host: String) -> String { "10.214.\(octet).\(10 + hosts.firstIndex(of: host)!)" }
    /// The host's end of its link, on the bridge side: down is a cut cable.
    func link(_ host: String) -> String { "kv\(tag)\(hosts.firstIndex(of: host)!)" }

    static func create(hosts: [String]) async throws -> TestCluster {
        let tag = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(6)).lowercased()
        let cluster = TestCluster(tag: tag, octet: Int.random(in: 1...254), hosts: hosts)
        var steps: [[String]] = [
            ["link", "add", cluster.bridge, "type", "bridge"],
            ["addr", "add", "10.214.\(cluster.octet).1/24", "dev", cluster.bridge],
            ["link", "set", cluster.bridge, "up"],
        ]
        for (index, host) in hosts.enumerated() {
            let namespace = cluster.namespace(host), inside = "ki\(tag)\(index)"
            steps += [
                ["netns", "add", namespace],
                ["link", "add", cluster.link(host), "type", "veth", "peer", "name", inside],
                ["link", "set", inside, "netns", namespace],
                ["link", "set", cluster.link(host), "master", cluster.bridge],
                ["link", "set", cluster.link(host), "up"],
                ["netns", "exec", namespace, "ip", "addr", "add", "\(cluster.address(host))/24", "dev", inside],
                ["netns", "exec", namespace, "ip", "link", "set", inside, "up"],
                ["netns", "exec", namespace, "ip", "link", "set", "lo", "up"],
            ]
        }
        try await IPCommands.run(steps, undo: cluster.destroy)
        return cluster
    }

    func cut(_ host: String) async throws { try await setLink(host, "down") }
    func restore(_ host: String) async throws { try await setLink(host, "up") }

    private func setLink(_ host: String, _ state: String) async throws {
        let outcome = try await sh("ip", ["link", "set", link(host), state])
        guard outcome.succeeded else { throw TestSetupError("cannot set \(link(host)) \(state): \(outcome.output)") }
    }

    func destroy() {
        for arguments in hosts.map({ ["netns", "del", namespace($0)] }) + [["link", "del", bridge]] {
            IPCommands.runNow(arguments)
        }
    }
}
