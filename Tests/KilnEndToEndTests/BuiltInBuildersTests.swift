import Foundation
import KilnTestSupport
import Testing

/// Each built-in builder builds its sample app (Tests/Fixtures) from a real
/// push, with the toolchains of the worker host, and the slug's web process
/// answers on $PORT.
@Suite struct BuiltInBuildersTests {
    struct Sample: Sendable, CustomStringConvertible {
        var builder: String
        var detected: String
        var answer: String
        var network = false
        var description: String { builder }
    }

    static let samples = [
        Sample(builder: "static", detected: "Static (static.json) app detected by the built-in static builder", answer: "static sample served"),
        Sample(builder: "node", detected: "Node.js (package.json) app detected by the built-in node builder", answer: "node sample served, built by npm run build"),
        // pip installs from PyPI: the app allows its builds the network.
        Sample(builder: "python", detected: "Python (requirements.txt) app detected by the built-in python builder", answer: "python sample served with six 1.16.0", network: true),
        Sample(builder: "elixir", detected: "Elixir (mix.exs) app detected by the built-in elixir builder", answer: "elixir sample served by OTP 25"),
    ]

    @Test func eachBuiltInBuilderBuildsItsSampleAndTheSlugAnswersOnPort() async throws {
        try await KilnFarm.with(workers: 2) { farm in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sample in Self.samples {
                    group.addTask { try await Self.check(sample, on: farm) }
                }
                try await group.waitForAll()
            }
        }
    }

    static func check(_ sample: Sample, on farm: KilnFarm) async throws {
        let app = "\(sample.builder)-sample"
        let key = try await farm.createApp(app)
        if sample.network {
            let set = try await farm.kiln("apps", "set", "--app", app, "--build-network", "on")
            #expect(set.output.contains("build network on"), "\(set.output)")
        }
        let repo = try await makeGitRepository(copying: "\(sample.builder)-app")
        let pushed = try await sh("git", ["push", farm.remote(app, key: key), "main"], in: repo)
        #expect(pushed.succeeded, "\(sample.builder): \(pushed.output)")
        #expect(pushed.output.contains(sample.detected), "\(sample.builder): \(pushed.output)")
        guard pushed.succeeded else { return }
        let slug = try await farm.newestSlug(app: app)
        let body = try await SlugRun.get(slugDirectory: slug)
        #expect(body.contains(sample.answer), "\(sample.builder) answered: \(body)")
    }
}
