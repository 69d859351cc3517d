import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// Prometheus metrics of a server and a worker (on its own small port),
/// scraped over HTTP after a build, and the readiness of both.
@Suite struct MetricsTests {
    @Test func aBuildShowsInTheServersAndTheWorkersMetrics() async throws {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory("metrics")
        let port = try KilnFarm.freePort(), metricsPort = try KilnFarm.freePort()
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let server = Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions, environment: environment)
        let worker = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--capacity", "2",
                                                      "--metrics-port", "\(metricsPort)", "--metrics-host", "127.0.0.1", "--log-format", "json"] + TestEnvironment.trustedFetchOptions,
                             environment: environment)
        try await withRunning([server, worker]) {
            try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: home.appendingPathComponent("none"))
            try await KilnFarm.waitForHealth("http://127.0.0.1:\(metricsPort)", log: home.appendingPathComponent("none"))
            let token = "kiln_admin_test_\(UUID().uuidString)"
            try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
            let farm = KilnFarm(home: home, port: port, server: "http://127.0.0.1:\(port)", token: token)
            let key = try await farm.createApp("measured")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
            let pushed = try await sh("git", ["push", farm.remote("measured", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")

            let fromServer = try await sh("curl", ["-sf", "http://127.0.0.1:\(port)/metrics"]).output
            #expect(fromServer.contains(#"kiln_builds{state="succeeded"} 1"#), "\(fromServer)")
            #expect(fromServer.contains(#"kiln_builds{state="queued"} 0"#))
            #expect(fromServer.contains(#"kiln_workers{state="alive"} 1"#))
            #expect(fromServer.contains(#"kiln_farm_slots{state="total"} 2"#))

            let fromWorker = try await sh("curl", ["-sf", "http://127.0.0.1:\(metricsPort)/metrics"]).output
            #expect(fromWorker.contains(#"kiln_builds_finished_total{outcome="succeeded"} 1"#), "\(fromWorker)")
            #expect(fromWorker.contains(#"kiln_build_phase_seconds_count{phase="compile"} 1"#))
            #expect(fromWorker.contains(#"kiln_build_phase_seconds_count{phase="pack"} 1"#))
            #expect(fromWorker.contains("kiln_build_claim_wait_seconds_count 1"))
            #expect(fromWorker.contains("kiln_worker_slots 2"))

            // JSON logs: every line an object; the worker's lines name it.
            let jsonWorker = RestartableProcess(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path,
                                                                         "--name", "json-worker", "--log-format", "json"] + TestEnvironment.trustedFetchOptions,
                                                environment: environment, log: home.appendingPathComponent("json-worker.log"))
            try jsonWorker.start()
            for _ in 0..<600 where !jsonWorker.output.contains("worker started") { try await Task.sleep(for: .milliseconds(100)) }
            await jsonWorker.stop()
            let logged = jsonWorker
            let lines = logged.output.split(separator: "\n").filter { !$0.isEmpty }
            #expect(!lines.isEmpty)
            for line in lines {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line)")
            }
            #expect(lines.contains { $0.contains(#""message":"worker started""#) && $0.contains(#""worker":"json-worker""#) }, "\(logged.output)")

            for endpoint in ["http://127.0.0.1:\(port)/ready", "http://127.0.0.1:\(metricsPort)/ready"] {
                let ready = try await sh("curl", ["-s", "-w", " %{http_code}", endpoint])
                #expect(ready.output == "ready\n 200", "\(endpoint): \(ready.output)")
            }
        }
    }
}
