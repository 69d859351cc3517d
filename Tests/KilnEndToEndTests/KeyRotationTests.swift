import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// `kiln keys rotate`: new slugs are signed with the new key and say so in
/// their manifest; old slugs keep verifying with the retired public key that
/// `kiln keys public --all` lists, and not with the new key alone.
@Suite struct KeyRotationTests {
    @Test func slugsSignedBeforeARotationStillVerifyWithTheRetiredKey() async throws {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory("rotation")
        let port = try KilnFarm.freePort()
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let parts = [
            Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions, environment: environment),
            Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path] + TestEnvironment.trustedFetchOptions, environment: environment),
        ]
        let token = "kiln_admin_test_\(UUID().uuidString)"
        try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
        let farm = KilnFarm(home: home, port: port, server: "http://127.0.0.1:\(port)", token: token)
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
                    #expect(withCurrent.output.contains("signed with farm key \(ids[0])") && withCurrent.output.contains("kiln keys public --all"), "\(withCurrent.output)")
                }
            }
            #expect(ids[0] != ids[1])
        }
    }
}
