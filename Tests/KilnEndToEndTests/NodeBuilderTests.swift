import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// The built-in node builder as Heroku's Node.js buildpack behaves, through
/// real pushes with the build network off (the npm registry is out of reach):
/// yarn 1 (Debian's yarnpkg) from an offline mirror committed in the app, npm
/// from vendored tarballs, `heroku-prebuild`, `heroku-postbuild` in place of
/// `build`, devDependencies pruned unless NPM_CONFIG_PRODUCTION=false,
/// cacheDirectories kept between builds, and lockfiles whose package manager
/// the worker lacks refused by name.
@Suite struct NodeBuilderTests {
    static func push(_ repo: URL, _ farm: KilnFarm, app: String, key: String) async throws -> Command.Outcome {
        try await sh("git", ["commit", "-q", "--allow-empty", "-m", "push"], in: repo)
        return try await sh("git", ["push", farm.remote(app, key: key), "main"], in: repo)
    }

    /// Builds `fixture` three times: two default builds (the second restores cacheDirectories), then one with devDependencies kept.
    static func check(fixture: String, manager: String, install: String, prune: String, on farm: KilnFarm) async throws {
        let key = try await farm.createApp(fixture)
        let repo = try await makeGitRepository(copying: fixture)
        let first = try await Self.push(repo, farm, app: fixture, key: key)
        let log = first.output
        #expect(first.succeeded, "\(fixture): \(log)")
        #expect(log.contains(manager), "\(fixture): \(log)")
        #expect(log.contains("Running heroku-prebuild"), "\(fixture): \(log)")
        #expect(log.contains(install), "\(fixture): \(log)")
        #expect(log.contains("Running heroku-postbuild"), "\(fixture): \(log)")
        #expect(!log.contains("the build script ran instead of heroku-postbuild"), "\(fixture): \(log)")
        #expect(log.contains("cacheDirectories: .cache/kiln not cached yet"), "\(fixture): \(log)")
        #expect(log.contains("cacheDirectories: .cache/kiln saved"), "\(fixture): \(log)")
        #expect(log.contains(prune), "\(fixture): \(log)")
        guard first.succeeded else { return }
        let name = fixture == "node-yarn" ? "yarn" : "npm"
        var body = try await SlugRun.get(slugDirectory: try await farm.newestSlug(app: fixture))
        #expect(body.contains("hello from kiln-greet, \(name); heroku-prebuild ran before the install; BUILT BY HEROKU-POSTBUILD! (build 1 of this app's cache); devDependency kiln-shout pruned; NODE_ENV production"), "\(fixture): \(body)")

        // The pruned tree in the dependency cache cannot run heroku-postbuild: installed again; the cache directory comes back.
        let second = try await Self.push(repo, farm, app: fixture, key: key)
        #expect(second.succeeded, "\(fixture): \(second.output)")
        #expect(second.output.contains("cacheDirectories: .cache/kiln restored"), "\(fixture): \(second.output)")
        #expect(second.output.contains("node_modules in the dependency cache lacks devDependencies, which heroku-postbuild may need: installing"), "\(fixture): \(second.output)")
        body = try await SlugRun.get(slugDirectory: try await farm.newestSlug(app: fixture))
        #expect(body.contains("(build 2 of this app's cache); devDependency kiln-shout pruned"), "\(fixture): \(body)")

        #expect(try await farm.kiln("config", "set", "--app", fixture, "NPM_CONFIG_PRODUCTION=false").succeeded)
        let kept = try await Self.push(repo, farm, app: fixture, key: key)
        #expect(kept.succeeded, "\(fixture): \(kept.output)")
        #expect(kept.output.contains("devDependencies kept: NPM_CONFIG_PRODUCTION or YARN_PRODUCTION is false"), "\(fixture): \(kept.output)")
        #expect(!kept.output.contains("Pruning devDependencies"), "\(fixture): \(kept.output)")
        body = try await SlugRun.get(slugDirectory: try await farm.newestSlug(app: fixture))
        #expect(body.contains("(build 3 of this app's cache); devDependency kiln-shout kept"), "\(fixture): \(body)")
    }

    @Test func yarnAndNpmAppsRunHerokuScriptsPruneDevDependenciesAndKeepCacheDirectories() async throws {
        try await KilnFarm.with(workers: 2) { farm in
            async let yarn: Void = Self.check(fixture: "node-yarn", manager: "yarn 1.22.19 (yarn.lock)",
                                              install: "Installing dependencies (yarn install --frozen-lockfile)",
                                              prune: "Pruning devDependencies (yarn install --production)", on: farm)
            async let npm: Void = Self.check(fixture: "node-npm-postbuild", manager: "npm 10.", install: "Installing dependencies (npm ci)",
                                             prune: "Pruning devDependencies (npm prune --omit=dev)", on: farm)
            _ = try await (yarn, npm)
        }
    }

    @Test func aLockfileWhosePackageManagerTheWorkerLacksIsRefusedByName() async throws {
        let pnpm = try await sh("sh", ["-c", "command -v pnpm"])
        let yarn = try await sh("sh", ["-c", "command -v yarn"])
        try await KilnFarm.with(workers: 1) { farm in
            let package = #"{"name": "locked", "version": "1.0.0", "dependencies": {"kiln-greet": "1.0.0"}}"#
            let cases: [(app: String, files: [String: String], refusal: String, applies: Bool)] = [
                ("pnpm", ["package.json": package, "pnpm-lock.yaml": "lockfileVersion: '9.0'\n"],
                 " !     pnpm-lock.yaml needs pnpm, which this worker lacks: declare \"packageManager\": \"pnpm@VERSION\" in package.json", !pnpm.succeeded),
                ("berry", ["package.json": package, "yarn.lock": "__metadata:\n  version: 8\n  cacheKey: 10c0\n"],
                 " !     yarn.lock needs Yarn 2 or later, which this worker lacks: commit the release with yarnPath in .yarnrc.yml", !yarn.succeeded),
                ("two-locks", ["package.json": package, "package-lock.json": "{}\n", "yarn.lock": "# yarn lockfile v1\n"],
                 " !     package-lock.json and yarn.lock are both in the app: keep only the lockfile of the package manager it uses", true),
                ("mismatch", ["package.json": #"{"name": "m", "packageManager": "pnpm@9.1.0"}"#, "yarn.lock": "# yarn lockfile v1\n"],
                 " !     package.json's packageManager is pnpm@9.1.0 but the app's lockfile is yarn.lock", true),
            ]
            for item in cases where item.applies {
                let key = try await farm.createApp(item.app)
                let repo = try await makeGitRepository(item.files)
                let refused = try await sh("git", ["push", farm.remote(item.app, key: key), "main"], in: repo)
                #expect(!refused.succeeded, "\(item.app): \(refused.output)")
                #expect(refused.output.contains(item.refusal), "\(item.app): \(refused.output)")
                #expect(!refused.output.contains("Installing dependencies"), "\(item.app): \(refused.output)")
            }
        }
    }
}
