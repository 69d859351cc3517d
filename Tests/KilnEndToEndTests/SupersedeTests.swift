import Foundation
import KilnTestSupport
import Testing

@Suite struct SupersedeTests {
    @Test func aPusherWaitingOnASupersededBuildIsToldWhichBuildReplacedIt() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("racy")
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Slow\n",
                // The first push holds the app's one build slot long enough for the next two to queue, even on a loaded machine.
                "bin/compile*": "#!/bin/sh\ngrep -q one \"$1/Procfile\" && sleep 20\necho compiled\n",
            ])
            func push(_ marker: String) async throws -> URL {
                try await makeGitRepository(["Procfile": "web: ./run \(marker)\n", ".buildpacks": "file://\(buildpack.path)\n"])
            }
            let first = try await push("one"), second = try await push("two"), third = try await push("three")
            async let one = sh("git", ["push", farm.remote("racy", key: key), "main"], in: first)
            try await waitFor(farm, build: "b-1", state: "running")
            async let two = sh("git", ["push", "--force", farm.remote("racy", key: key), "main"], in: second)
            try await waitFor(farm, build: "b-2", state: "queued")
            async let three = sh("git", ["push", "--force", farm.remote("racy", key: key), "main"], in: third)

            let superseded = try await two
            #expect(!superseded.succeeded)
            #expect(superseded.output.contains("push rejected: build b-2 was superseded by b-3"), "\(superseded.output)")
            #expect(try await one.succeeded)
            let last = try await three
            #expect(last.output.contains("Released racy"), "\(last.output)")

            // Operators see the farm: its workers and its queue.
            let workers = try await farm.kiln("workers", "--json")
            #expect(workers.succeeded)
            #expect(workers.output.contains("\"capacity\" : 1"))
            let queue = try await farm.kiln("queue")
            #expect(queue.output.contains("superseded  1"))
            #expect(queue.output.contains("succeeded   2"))
        }
    }

    func waitFor(_ farm: KilnFarm, build: String, state: String) async throws {
        for _ in 0..<300 {
            if try await farm.kiln("builds", "show", build, "--json").output.contains("\"state\" : \"\(state)\"") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("\(build) never became \(state)")
    }
}
