import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// Two servers and two workers restarted one by one (SIGTERM, then a new
/// process) while pushes go on: a server stops taking connections and lets
/// the pushes it holds finish; a worker drains. Every push that was accepted
/// (its build queued) succeeds; a push refused at the door is retried on the
/// other server, as a load balancer would.
@Suite struct RollingRestartTests {
    @Test func restartingEveryPartOneByOneLosesNoBuildAndFailsNoAcceptedPush() async throws {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory("rolling")
        let ports = [try KilnFarm.freePort(), try KilnFarm.freePort()]
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let servers = ports.enumerated().map { index, port in
            RestartableProcess(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions,
                               environment: environment, log: home.appendingPathComponent("server\(index).log"))
        }
        let workers = (0..<2).map { index in
            RestartableProcess(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--name", "roller\(index)",
                                                        "--capacity", "2", "--drain-timeout", "60", "--poll-interval", "0.5"] + TestEnvironment.trustedFetchOptions,
                               environment: environment, log: home.appendingPathComponent("worker\(index).log"))
        }
        for part in servers + workers { try part.start() }
        defer { Task { for part in servers + workers { await part.stop(grace: .seconds(5)) } } }
        for port in ports { try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: home.appendingPathComponent("server0.log")) }

        let token = "kiln_admin_test_\(UUID().uuidString)"
        try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
        let farms = ports.map { KilnFarm(home: home, port: $0, server: "http://127.0.0.1:\($0)", token: token) }
        let buildpack = try await makeGitRepository([
            "bin/detect*": "#!/bin/sh\necho Rolling\n",
            "bin/compile*": "#!/bin/sh\necho compiling; sleep 1\n",
        ])
        let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)#main\n"])
        let apps = (1...12).map { "roll\($0)" }
        var keys: [String: String] = [:]
        for app in apps { keys[app] = try await farms[0].createApp(app) }
        let appKeys = keys

        // Three lanes of pushes, one app each time; a push that was not accepted is tried again on the other server.
        async let pushing: [(app: String, accepted: Bool, succeeded: Bool, output: String)] = withThrowingTaskGroup(of: [(String, Bool, Bool, String)].self) { group in
            for lane in 0..<3 {
                group.addTask {
                    var results: [(String, Bool, Bool, String)] = []
                    for app in apps.enumerated().filter({ $0.offset % 3 == lane }).map(\.element) {
                        for attempt in 0..<40 {
                            let farm = farms[(attempt + lane) % 2]
                            let pushed = try await sh("git", ["push", farm.remote(app, key: appKeys[app]!), "main"], in: repo)
                            let accepted = pushed.output.contains("queued for \(app)")
                            if accepted || pushed.succeeded {
                                results.append((app, accepted, pushed.succeeded, pushed.output))
                                break
                            }
                            try await Task.sleep(for: .milliseconds(250))
                        }
                    }
                    return results
                }
            }
            var all: [(String, Bool, Bool, String)] = []
            for try await results in group { all += results }
            return all.map { (app: $0.0, accepted: $0.1, succeeded: $0.2, output: $0.3) }
        }

        // The restarts, one part at a time, while the pushes go on.
        try await Task.sleep(for: .seconds(2))
        for (index, server) in servers.enumerated() {
            await server.stop()
            try server.start()
            try await KilnFarm.waitForHealth("http://127.0.0.1:\(ports[index])", log: home.appendingPathComponent("server\(index).log"))
        }
        for worker in workers {
            let status = await worker.stop()
            #expect(status == 0, "a draining worker exits cleanly: \(worker.output.suffix(2000))")
            try worker.start()
        }

        let results = try await pushing
        #expect(results.count == apps.count, "\(results.map(\.app))")
        for result in results {
            #expect(result.accepted && result.succeeded, "\(result.app): \(result.output)")
        }
        let builds = try await farms[1].kiln("builds", "list", "--json")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(builds.output.utf8)) as? [[String: Any]])
        #expect(list.count == apps.count && list.allSatisfy { $0["state"] as? String == "succeeded" }, "\(builds.output)")
        for app in apps {
            let releases = try await farms[0].kiln("releases", "--app", app, "--json")
            #expect(releases.output.components(separatedBy: "\"version\"").count == 2, "\(app): \(releases.output)")
        }
    }
}
