import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// `kiln server` and `kiln worker` as separate processes against an existing
/// PostgreSQL (the one the test command started), as a farm runs them.
@Suite struct SeparatePartsTests {
    @Test func aServerAndAWorkerStartedApartBuildAPushAndFollowTheLog() async throws {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory("parts")
        let port = try KilnFarm.freePort()
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let server = Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions, environment: environment)
        let worker = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--capacity", "2"] + TestEnvironment.trustedFetchOptions, environment: environment)
        try await withRunning([server, worker]) {
            try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: home.appendingPathComponent("none"))

            // The administrator key is registered the way `kiln up` does it.
            let token = "kiln_admin_test_\(UUID().uuidString)"
            try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
            let farm = KilnFarm(home: home, port: port, server: "http://127.0.0.1:\(port)", token: token)
            let key = try await farm.createApp("parted")

            // A buildpack slow enough to follow: `kiln logs -f` must end with the build.
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Slow\n",
                "bin/compile*": "#!/bin/sh\nfor i in 1 2 3; do echo \"step $i\"; sleep 0.3; done\n",
            ])
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)#main\n"])
            async let push = sh("git", ["push", farm.remote("parted", key: key), "main"], in: repo)
            var followed: Command.Outcome?
            for _ in 0..<100 where followed == nil {
                if try await farm.kiln("builds", "show", "b-1").succeeded {
                    followed = try await farm.kiln("logs", "b-1", "-f")
                } else {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let pushed = try await push
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("remote: step 3"))
            let log = try #require(followed)
            #expect(log.succeeded)
            #expect(log.output.contains("step 1") && log.output.contains("step 3"))
            #expect(log.output.contains("-----> Build b-1 done"))
            let manifest = try await farm.kiln("builds", "show", "b-1", "--json")
            #expect(manifest.output.contains("\"state\" : \"succeeded\""))
        }
    }
}
