import Foundation
import KilnTestSupport
import Testing

@Suite struct SupersedeTests {
    @Test func aPusherWaitingOnASupersededBuildIsToldWhichBuildReplacedIt() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("racy")
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Slow\n",
                // The first push holds the app's one build slot until the test, once the next two are queued,
                // leaves `go` in its CACHE_DIR (the workspace the worker made under the farm's home).
                "bin/compile*": "#!/bin/sh\nif grep -q one \"$1/Procfile\"; then i=0; until [ -e \"$2/go\" ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done; fi\necho compiled\n",
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
            try await waitFor(farm, build: "b-3", state: "queued")
            try Data().write(to: farm.home.appendingPathComponent("work/b-1.1/cache/go"))

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
