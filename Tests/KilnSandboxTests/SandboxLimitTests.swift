import Foundation
import KilnSandbox
import KilnTestSupport
import Testing

/// The limits a worker depends on, on whatever hierarchy the host has: the
/// host's cgroup v1 here, and a real cgroup v2 kernel in `CgroupV2GuestTests`,
/// which runs this suite and `SandboxTests` in a guest.
@Suite struct SandboxLimitTests {
    let user = try? SandboxUser.named("kiln-build")

    func sandbox(_ limits: SandboxLimits) throws -> (Sandbox, URL) {
        let app = try TestEnvironment.temporaryDirectory("sandbox-limits")
        if let user { try user.own(app) }
        return (Sandbox(mounts: [SandboxMount(host: app, inside: "/app", writable: true)], user: user, limits: limits), app)
    }

    @Test func thisHostEnforcesMemoryProcessesAndCPUOnTheHierarchyItMounts() {
        let limits = SandboxLimits(memoryBytes: 256 << 20, processes: 128, cpus: 1)
        #expect(Sandbox.unenforceable(limits) == [])
        if let expected = ProcessInfo.processInfo.environment["KILN_TEST_CGROUP"] {
            #expect(Sandbox.hierarchy == "cgroup \(expected)")
        }
    }

    @Test func aBuildOverItsCPUShareIsThrottled() async throws {
        // Two busy loops (one per core), under a twentieth of a CPU, stopped by the wall-time
        // limit: the group is throttled once they get more than 5 ms of a 100 ms period. A group
        // competes with the host's other runnable tasks as one, so on a host busy with dozens of
        // them it may get less than that for a while: a few rounds, bounded, give it the periods
        // it needs. Few processes to start, since they start under the limit too (slowly, in an
        // emulated guest). A group without the limit is never throttled, however long it runs.
        let (sandbox, _) = try sandbox(SandboxLimits(wallTime: .seconds(5), cpus: 0.05))
        let loops = "while :; do :; done & while :; do :; done"
        var rounds: [(SandboxOutcome, String)] = []
        for _ in 0..<4 {
            let round = try await sandbox.capture("/bin/sh", ["-c", loops], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/app")
            rounds.append(round)
            if round.0.cpuThrottled { break }
        }
        let (outcome, output) = try #require(rounds.last)
        #expect(outcome.limit == .wallTime(.seconds(5)))
        #expect(outcome.cpuThrottled, "not throttled in \(rounds.count) rounds of 5 s; output: \(output)")
    }

    @Test func aCancelledBuildEndsWithItsWholeTree() async throws {
        let (sandbox, app) = try sandbox(SandboxLimits(wallTime: .seconds(600)))
        let marker = "kiln-cancelled-\(UUID().uuidString.prefix(8))"
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        let script = "sh -c 'sleep 300; touch /app/survived' \(marker) & echo started; sleep 300"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { signal.finish() }
                _ = try await sandbox.run("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/app") { line in
                    if line == "started" { signal.yield() }
                }
            }
            var began = false
            for await _ in started { began = true; break }
            #expect(began, "the build never started")
            group.cancelAll()
            try? await group.waitForAll()
        }
        // Cancelled: the background job, in a session of its own, went with the rest.
        let left = try await sh("pgrep", ["-f", marker])
        #expect(left.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "still running: \(left.output)")
        #expect(!FileManager.default.fileExists(atPath: app.appendingPathComponent("survived").path))
    }
}
