import Foundation
import KilnDatabase
import PostgresNIO
import KilnTestSupport
import Testing

/// How a push finds its buildpacks, what config reaches them and how, and
/// monorepo source directories: each through `kiln up`, the client and a
/// real `git push`.
@Suite struct DetectionAndConfigTests {
    @Test func aDockerfileWithoutARegistryOrAnAppNoBuilderKnowsIsRejectedWithWhatWasTried() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("imaged")
            let docker = try await makeGitRepository(["Dockerfile": "FROM scratch\n", "Procfile": "web: ./run\n"])
            let rejected = try await sh("git", ["push", farm.remote("imaged", key: key), "main"], in: docker)
            #expect(!rejected.succeeded)
            #expect(rejected.output.contains("has a Dockerfile at its root, which asks for an image build, and this farm has no registry: start the workers with --registry HOST[:PORT]/PREFIX"), "\(rejected.output)")

            let unknownKey = try await farm.createApp("unknown")
            let plain = try await makeGitRepository(["README.md": "# nothing to run\n"])
            let unknown = try await sh("git", ["push", farm.remote("unknown", key: unknownKey), "main"], in: plain)
            #expect(!unknown.succeeded)
            #expect(unknown.output.contains(
                "no builder detected this app; tried elixir (mix.exs), node (package.json), python (requirements.txt, Pipfile, poetry.lock, uv.lock, setup.py, pyproject.toml, .python-version or runtime.txt), procfile (Procfile), static (static.json or index.html)"),
                "\(unknown.output)")

            // A bad line in .buildpacks is named, with its number.
            try writeFiles([".buildpacks": "# ours\nprocfile\nnot a url\n", "Procfile": "web: ./run\n"], in: plain)
            try await sh("git", ["add", "-A"], in: plain)
            try await sh("git", ["commit", "-qm", "bad list"], in: plain)
            let badList = try await sh("git", ["push", farm.remote("unknown", key: unknownKey), "main"], in: plain)
            #expect(!badList.succeeded)
            #expect(badList.output.contains(".buildpacks line 3: 'not a url' contains spaces"), "\(badList.output)")

            // A malformed Procfile line is named, with its number.
            try writeFiles([".buildpacks": "procfile\n", "Procfile": "web: ./run\nthis line has no colon\n"], in: plain)
            try await sh("git", ["add", "-A"], in: plain)
            try await sh("git", ["commit", "-qm", "bad procfile"], in: plain)
            let badProcfile = try await sh("git", ["push", farm.remote("unknown", key: unknownKey), "main"], in: plain)
            #expect(!badProcfile.succeeded)
            #expect(badProcfile.output.contains("Procfile line 2"), "\(badProcfile.output)")
        }
    }

    @Test func configVarsAreSealedVersionedAndReachTheBuildpackNamedByBuildpackURL() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("configured")
            // The buildpack reports what it sees: config in ENV_DIR, its uid, Kiln's key, the network.
            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Reporter\n",
                "bin/compile*": """
                    #!/bin/bash
                    echo "greeting=$(cat "$3/GREETING")"
                    echo "env files: $(ls "$3" | tr '\\n' ' ')"
                    echo "uid=$(id -u)"
                    cat \(farm.home.path)/keys/farm-ed25519.pem >/dev/null 2>&1 && echo "KEY LEAKED" || echo "farm key out of reach"
                    (exec 3<>/dev/tcp/127.0.0.1/\(farm.port)) 2>/dev/null && echo "NETWORK REACHED" || echo "network off"
                    """,
            ])
            let set = try await farm.kiln("config", "set", "--app", "configured", "GREETING=hello-from-config", "DOOMED=1")
            #expect(set.output.contains("config v1"), "\(set.output)")
            let named = try await farm.kiln("config", "set", "--app", "configured", "BUILDPACK_URL=file://\(buildpack.path)#main")
            #expect(named.output.contains("config v2"))
            let unset = try await farm.kiln("config", "unset", "--app", "configured", "DOOMED")
            #expect(unset.output.contains("config v3") && !unset.output.contains("DOOMED"), "\(unset.output)")
            let invalid = try await farm.kiln("config", "set", "--app", "configured", "9LIVES=x")
            #expect(!invalid.succeeded && invalid.output.contains("'9LIVES' is not a valid config var name"), "\(invalid.output)")
            let shown = try await farm.kiln("config", "--app", "configured", "--json")
            #expect(shown.output.contains("\"GREETING\" : \"hello-from-config\""), "\(shown.output)")

            let repo = try await makeGitRepository(["Procfile": "web: ./run\n"])
            let pushed = try await sh("git", ["push", farm.remote("configured", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("The BUILDPACK_URL config var names file://\(buildpack.path)#main"))
            #expect(pushed.output.contains("greeting=hello-from-config"))
            #expect(pushed.output.contains("env files: BUILDPACK_URL GREETING "))
            #expect(!pushed.output.contains("uid=0"))
            #expect(pushed.output.contains("farm key out of reach") && !pushed.output.contains("KEY LEAKED"))
            #expect(pushed.output.contains("network off") && !pushed.output.contains("NETWORK REACHED"))
            let releases = try await farm.kiln("releases", "--app", "configured", "--json")
            #expect(releases.output.contains("\"config_version\" : 3"), "\(releases.output)")

            // At rest the values are sealed: the database never holds them in clear.
            let postgres = LocalPostgres(directory: farm.home.appendingPathComponent("postgres"), logger: TestEnvironment.logger)
            let (versions, clear) = try await Database.with(url: try DatabaseURL(postgres.url), logger: TestEnvironment.logger) { database in
                var counts: [Int] = []
                for query in [
                    "SELECT count(*)::int FROM config_versions WHERE app = 'configured'",
                    "SELECT count(*)::int FROM config_versions WHERE position(convert_to('hello-from-config', 'UTF8') in sealed) > 0",
                ] {
                    for try await count in try await database.client.query(PostgresQuery(unsafeSQL: query)).decode(Int.self) { counts.append(count) }
                }
                return (counts[0], counts[1])
            }
            #expect(versions == 3)
            #expect(clear == 0)
        }
    }

    @Test func aMonorepoAppBuildsItsSourceDirectoryOnly() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("mono")
            let repo = try await makeGitRepository([
                "README.md": "# a monorepo\n",
                "services/api/Procfile": "web: ./api\n",
                "services/api/api*": "#!/bin/sh\necho api\n",
                "services/web/package.json": "{\"name\": \"web\"}\n",
            ])
            let refused = try await farm.kiln("apps", "set", "--app", "mono", "--source-dir", "../elsewhere")
            #expect(!refused.succeeded && refused.output.contains("is not a valid source directory"), "\(refused.output)")
            let set = try await farm.kiln("apps", "set", "--app", "mono", "--source-dir", "services/api")
            #expect(set.output.contains("source dir services/api"), "\(set.output)")
            let pushed = try await sh("git", ["push", farm.remote("mono", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("Building the subdirectory services/api"))
            #expect(pushed.output.contains("Procfile app detected by the built-in procfile builder"), "\(pushed.output)")
            let slug = try TestEnvironment.temporaryDirectory("mono-slug")
            try await farm.kiln("slug", "get", "b-1", "-o", slug.path)
            let listing = try await sh("tar", ["--zstd", "-tf", slug.appendingPathComponent("slug.tar.zst").path])
            #expect(listing.output.contains("app/api") && !listing.output.contains("README.md") && !listing.output.contains("package.json"), "\(listing.output)")

            // A source directory the commit does not have is named, with what is there.
            try await farm.kiln("apps", "set", "--app", "mono", "--source-dir", "services/missing")
            try writeFiles(["services/api/CHANGELOG": "v2\n"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "v2"], in: repo)
            let missing = try await sh("git", ["push", farm.remote("mono", key: key), "main"], in: repo)
            #expect(!missing.succeeded)
            #expect(missing.output.contains("the source directory services/missing is not a directory in this commit (beside it: api, web)"), "\(missing.output)")
        }
    }
}
