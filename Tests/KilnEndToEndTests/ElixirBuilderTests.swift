import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// The built-in elixir builder on the apps `mix phx.new` makes and on apps
/// with Hex dependencies. One at a time: each compiles with mix.
@Suite(.serialized) struct ElixirBuilderTests {
    /// assets/ and an assets.deploy alias (esbuild, tailwind, phx.digest):
    /// the slug holds the bundled, digested files and Phoenix's cache manifest.
    @Test func aPhoenixAppsAssetsAreBuiltAndDigested() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("phoenix-assets")
            let repo = try await makeGitRepository(copying: "phoenix-assets-app")
            let pushed = try await sh("git", ["push", farm.remote("phoenix-assets", key: key), "main"], in: repo)
            try #require(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("-----> mix assets.deploy"), "\(pushed.output)")
            #expect(pushed.output.contains("esbuild: priv/static/assets/app.js") && pushed.output.contains("tailwind: priv/static/assets/app.css"), "\(pushed.output)")

            let slug = try await farm.newestSlug(app: "phoenix-assets")
            try await sh("tar", ["--zstd", "-xf", slug.appendingPathComponent("slug.tar.zst").path, "-C", slug.path])
            let manifest = try String(contentsOf: slug.appendingPathComponent("app/priv/static/cache_manifest.json"), encoding: .utf8)
            let digested = try #require(manifest.firstMatch(of: /"assets\/app.js":"(assets\/app-[0-9a-f]{32}\.js)"/)?.1, "\(manifest)")
            let bundle = try String(contentsOf: slug.appendingPathComponent("app/priv/static/\(digested)"), encoding: .utf8)
            #expect(bundle.contains("console.log(\"phoenix assets\")"), "\(bundle)")
            #expect(manifest.contains(#/"assets\/app.css":"assets\/app-[0-9a-f]{32}\.css"/#), "\(manifest)")
        }
    }

    /// Hex packages need the Hex client, which mix fetches from builds.hex.pm:
    /// with the build network off, the build says so in one line, not in
    /// mix's "Could not find Hex" several steps later.
    @Test func hexDependenciesWithTheNetworkOffFailNamingWhatIsMissing() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("hexdeps")
            let repo = try await makeGitRepository(copying: "phoenix-assets-app")
            try writeFiles(["mix.lock": #"%{"jason": {:hex, :jason, "1.4.1", "af1504e35f629ddcdd6addb3513c3853991f694921b1b9368b0bd32beb9f1b63", [:mix], [], "hexpm", "fbb01ecdfd565b56261302f7e1fcc27c4fb8f32d56eab74db621fc154604a7a1"}}"# + "\n"],
                           in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "a Hex dependency"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("hexdeps", key: key), "main"], in: repo)
            #expect(!pushed.succeeded)
            #expect(pushed.output.contains("mix.lock names Hex packages, and mix local.hex could not install hex:"), "\(pushed.output)")
            #expect(pushed.output.contains("mix fetches it from repo.hex.pm and builds.hex.pm: the app's build network must be on (kiln apps set --app APP --build-network on)"), "\(pushed.output)")
            // mix's own reason, not an empty quote or its advice.
            #expect(pushed.output.contains("could not install hex: ** (Mix) httpc request failed with:"), "\(pushed.output)")
        }
    }
}
