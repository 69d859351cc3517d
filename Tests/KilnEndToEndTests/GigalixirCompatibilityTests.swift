import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// An app shaped as Gigalixir deploys it (releases mode: config/releases.exs,
/// elixir_buildpack.config, no `releases:` in mix.exs) deploys on Kiln
/// unchanged, with the built-in elixir builder and with a `.buildpacks`
/// release buildpack that works the way Gigalixir's does. Gigalixir's own
/// buildpacks download OTP and Elixir from builds.hex.pm on every build,
/// which this machine cannot reach, so the second case uses a buildpack
/// written here to the same contract (docs/gigalixir.md). One at a time, as
/// HotUpgradeTests, to keep the machine's load in bounds.
@Suite(.serialized) struct GigalixirCompatibilityTests {
    /// A release buildpack to the contract of gigalixir-buildpack-releases:
    /// `mix release`, the release's directory tarred into
    /// CACHE_DIR/out/APP-VSN.tar.gz (which becomes the slug, at /app), and a
    /// `bin/release` whose web process names the release through GIGALIXIR_APP_NAME.
    static let releasesBuildpack = [
        "bin/detect*": "#!/bin/sh\n[ -f \"$1/mix.exs\" ] && echo \"Elixir release\"\n",
        "bin/compile*": """
            #!/usr/bin/env bash
            set -euo pipefail
            build=$1 cache=$2
            cd "$build"
            export MIX_ENV=${MIX_ENV:-prod} MIX_HOME=$cache/mix HEX_HOME=$cache/hex
            if [ "${GIGALIXIR_SHOULD_HOT_UPGRADE:-}" = true ]; then echo "hot upgrades need distillery" >&2; exit 1; fi
            mix release --overwrite 2>&1 | sed -u 's/^/       /'
            app=$(ls "_build/$MIX_ENV/rel")
            vsn=$(cut -d' ' -f2 "_build/$MIX_ENV/rel/$app/releases/start_erl.data")
            mkdir -p "$cache/out"
            tar zcf "$cache/out/$app-$vsn.tar.gz" -C "_build/$MIX_ENV/rel/$app" .
            echo "-----> release $app $vsn packed into CACHE_DIR/out"

            """,
        "bin/release*": "#!/bin/sh\nprintf -- '---\\naddons: []\\ndefault_process_types:\\n  web: /app/bin/%s start\\n' \"$GIGALIXIR_APP_NAME\"\n",
    ]

    @Test func withTheBuiltInElixirBuilderItDeploysAsARelease() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("gigalixir-builtin")
            let repo = try await makeGitRepository(copying: "gigalixir-app")
            let pushed = try await sh("git", ["push", farm.remote("gigalixir-builtin", key: key), "main"], in: repo)
            try #require(pushed.succeeded, "\(pushed.output)")
            // The pins are compared with the farm's runtimes: Elixir 1.14.0 is met, OTP 25.3 stood in for by the host's OTP 25.
            #expect(pushed.output.contains("-----> Elixir 1.14.0 (host) (elixir_buildpack.config asks for 1.14.0)"), "\(pushed.output)")
            #expect(pushed.output.contains(#/ !     elixir_buildpack.config asks for Erlang\/OTP 25.3; this farm has 25\.[\d.]+ \(host\): building with 25\.[\d.]+, of the same Erlang\/OTP 25/#), "\(pushed.output)")
            #expect(pushed.output.contains("-----> mix release"), "\(pushed.output)")
            let slug = try await farm.newestSlug(app: "gigalixir-builtin")
            let body = try await SlugRun.get(slugDirectory: slug)
            #expect(body.hasPrefix("gigalixir sample 1.0.0 on port "), "\(body)")
        }
    }

    @Test func aReleaseBuildpacksTarballInCacheDirOutIsTheSlug() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let buildpack = try await makeGitRepository(Self.releasesBuildpack)
            let key = try await farm.createApp("gigalixir-releases")
            let repo = try await makeGitRepository(copying: "gigalixir-app")
            try writeFiles([".buildpacks": "file://\(buildpack.path)#main\n"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "buildpacks"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("gigalixir-releases", key: key), "main"], in: repo)
            try #require(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("left the release gigalixir_sample 1.0.0 in CACHE_DIR/out: it becomes the slug"), "\(pushed.output)")

            let slug = try await farm.newestSlug(app: "gigalixir-releases")
            let manifest = try String(contentsOf: slug.appendingPathComponent("manifest.json"), encoding: .utf8)
            #expect(manifest.contains(#""web" : "/app/bin/gigalixir_sample start""#), "\(manifest)")
            // The release's own directory at /app, not the build directory with its sources and _build.
            let listing = try await Command("tar", ["--zstd", "-tf", slug.appendingPathComponent("slug.tar.zst").path]).check()
            #expect(listing.contains("app/bin/gigalixir_sample\n") && !listing.contains("app/mix.exs") && !listing.contains("app/_build/"), "\(listing.prefix(2000))")
            let body = try await SlugRun.get(slugDirectory: slug)
            #expect(body.hasPrefix("gigalixir sample 1.0.0 on port "), "\(body)")

            // Gigalixir's header for a hot push reaches the buildpack as GIGALIXIR_SHOULD_HOT_UPGRADE.
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "again"], in: repo)
            let hot = try await sh("git", ["-c", "http.extraheader=GIGALIXIR-HOT: true", "push", farm.remote("gigalixir-releases", key: key), "main"], in: repo)
            #expect(!hot.succeeded && hot.output.contains("hot upgrades need distillery"), "\(hot.output)")
        }
    }

    /// heroku-buildpack-multi, which Gigalixir's `.buildpacks` follows, checks a
    /// `#ref` out after a whole clone, so a short commit hash works there too.
    @Test func aBuildpackPinnedByAShortCommitHashIsFetched() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho pinned\n",
                "bin/compile*": "#!/bin/sh\necho '-----> compiled by the pinned commit'\n",
            ])
            let pinned = try await sh("git", ["rev-parse", "--short=7", "HEAD"], in: buildpack).output.trimmingCharacters(in: .whitespacesAndNewlines)
            try writeFiles(["bin/compile*": "#!/bin/sh\necho '-----> compiled by a later commit'\n"], in: buildpack)
            try await sh("git", ["commit", "-qam", "later"], in: buildpack)
            let key = try await farm.createApp("pinned")
            let repo = try await makeGitRepository(["Procfile": "web: sleep 1\n", ".buildpacks": "file://\(buildpack.path)#\(pinned)\n"])
            let pushed = try await sh("git", ["push", farm.remote("pinned", key: key), "main"], in: repo)
            #expect(pushed.succeeded && pushed.output.contains("compiled by the pinned commit"), "\(pushed.output)")
        }
    }
}
