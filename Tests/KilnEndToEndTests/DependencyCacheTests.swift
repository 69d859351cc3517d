import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// The content-addressed dependency cache through real pushes of a node app
/// whose dependency is a vendored npm tarball (the npm registry is out of
/// reach): warm builds skip `npm ci`, keys miss when the lockfile changes,
/// apps share bytes, purges and clean pushes start cold, a corrupt object is
/// dropped and fetched again, and an empty local tier starts warm from the
/// shared one.
@Suite struct DependencyCacheTests {
    /// A node app depending on `pad`, a vendored tarball of `files` modules,
    /// with the package-lock.json npm writes for it (offline).
    static func nodeApp(files: Int, version: String = "1.0.0") async throws -> URL {
        let repo = try await makeGitRepository(["package.json": "{}\n"])
        try await writeDependency(into: repo, files: files, version: version)
        return repo
    }

    static func writeDependency(into repo: URL, files: Int, version: String) async throws {
        let package = try TestEnvironment.temporaryDirectory("pad").appendingPathComponent("package")
        var sources = ["package.json": #"{"name": "pad", "version": "\#(version)", "main": "index.js"}"#, "index.js": "module.exports = require('./m1.js');\n"]
        for index in 1...files {
            sources["m\(index).js"] = "module.exports = (s) => String(s).padStart(\(index));\n" + String(repeating: "// filler \(index)\n", count: index % 40)
        }
        try writeFiles(sources, in: package)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("vendor"), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: repo.appendingPathComponent("vendor/pad.tgz"))
        try await sh("tar", ["-czf", repo.appendingPathComponent("vendor/pad.tgz").path, "-C", package.deletingLastPathComponent().path, "package"])
        try writeFiles([
            "package.json": #"{"name": "cached", "version": "1.0.0", "private": true, "dependencies": {"pad": "file:vendor/pad.tgz"}, "scripts": {"start": "node server.js"}}"#,
            "server.js": "console.log(require('pad').length)\n",
        ], in: repo)
        try? FileManager.default.removeItem(at: repo.appendingPathComponent("package-lock.json"))
        let locked = try await sh("npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"], in: repo)
        guard locked.succeeded else { throw TestSetupError("npm could not write the lockfile: \(locked.output)") }
        try await sh("git", ["add", "-A"], in: repo)
        try await sh("git", ["commit", "-qm", "pad \(version)"], in: repo)
    }

    static func push(_ repo: URL, to remote: String, clean: Bool = false) async throws -> String {
        try await sh("git", ["commit", "-q", "--allow-empty", "-m", "again"], in: repo)
        let arguments = (clean ? ["-c", "http.extraheader=KILN-CLEAN: true"] : []) + ["push", remote, "main"]
        let pushed = try await sh("git", arguments, in: repo)
        guard pushed.succeeded else { throw TestSetupError("push failed: \(pushed.output)") }
        return pushed.output
    }

    static func storedBytes(_ farm: KilnFarm) async throws -> (shared: Int, local: Int) {
        let stats = try await farm.kiln("cache", "stats", "--json")
        let shared = try #require(stats.output.firstMatch(of: /"shared" : \{[^}]*"stored_bytes" : (\d+)/)?.1)
        let local = try #require(stats.output.firstMatch(of: /"local" : \{[^}]*"stored_bytes" : (\d+)/)?.1)
        return (Int(shared)!, Int(local)!)
    }

    @Test func warmBuildsSkipTheInstallAndKeysMissWhenTheLockfileChanges() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("cached")
            let remote = farm.remote("cached", key: key)
            let repo = try await Self.nodeApp(files: 120)

            let first = try await Self.push(repo, to: remote)
            #expect(first.contains("cache: miss, no node dependencies saved for this app yet"), "\(first)")
            #expect(first.contains("Installing dependencies (npm ci)"), "\(first)")
            #expect(first.contains(/cache: saved 12\d files/), "\(first)")

            let second = try await Self.push(repo, to: remote)
            #expect(second.contains(/cache: restored 12\d files \([0-9.]+ kB\) in [0-9.]+ s/), "\(second)")
            #expect(second.contains("npm ci skipped"), "\(second)")
            #expect(!second.contains("Installing dependencies"), "\(second)")
            #expect(!second.contains("cache: saved"), "\(second)")

            // The warm build's slug holds the restored dependency, and it runs.
            let slug = try await farm.newestSlug(app: "cached")
            try await sh("tar", ["--zstd", "-xf", slug.appendingPathComponent("slug.tar.zst").path, "-C", slug.path])
            let module = slug.appendingPathComponent("app/node_modules/pad/m7.js")
            #expect(try String(contentsOf: module, encoding: .utf8).contains("padStart(7)"))

            try await Self.writeDependency(into: repo, files: 121, version: "1.0.1")
            let changed = try await Self.push(repo, to: remote)
            #expect(changed.contains("cache: miss, package-lock.json changed"), "\(changed)")
            #expect(changed.contains("Installing dependencies (npm ci)"), "\(changed)")

            // A build that edits a restored file replaces its own copy; the next build restores the original.
            try writeFiles(["package.json": #"{"name": "cached", "version": "1.0.0", "private": true, "dependencies": {"pad": "file:vendor/pad.tgz"}, "scripts": {"start": "node server.js", "build": "rm node_modules/pad/m7.js && echo edited > node_modules/pad/m7.js || echo refused"}}"#], in: repo)
            try await sh("npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "edit a dependency in the build"], in: repo)
            _ = try await Self.push(repo, to: remote) // package.json is not a key: this one restores
            let after = try await Self.push(repo, to: remote)
            #expect(after.contains("cache: restored"), "\(after)")
            let check = try await sh("sh", ["-c", "grep -rl '^edited$' \(farm.home.path)/cache/store/objects \(farm.home.path)/blobs/cache/objects || echo clean"])
            #expect(check.output.trimmingCharacters(in: .whitespacesAndNewlines) == "clean", "\(check.output)")

            // A key file of the app's own: its contents join the key.
            let set = try await farm.kiln("apps", "set", "--app", "cached", "--cache-key-files", ".tool-versions")
            #expect(set.output.contains("cache key files .tool-versions"), "\(set.output)")
            let keyed = try await Self.push(repo, to: remote)
            #expect(keyed.contains("cache: miss, .tool-versions became a key file"), "\(keyed)")
            try writeFiles([".tool-versions": "nodejs 20\n"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "tool versions"], in: repo)
            let added = try await Self.push(repo, to: remote)
            #expect(added.contains("cache: miss, .tool-versions added"), "\(added)")

            let stats = try await farm.kiln("cache", "stats")
            #expect(stats.output.contains(/builds +\d+ cache lookups: [1-9]\d* hits, [1-9]\d* misses, 0 faults/), "\(stats.output)")
        }
    }

    @Test func appsShareBytesAndPurgesCorruptionAndAnEmptyLocalTierAreHandled() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let repo = try await Self.nodeApp(files: 80)
            let firstKey = try await farm.createApp("first")
            let secondKey = try await farm.createApp("second")
            _ = try await Self.push(repo, to: farm.remote("first", key: firstKey))
            let before = try await Self.storedBytes(farm)
            #expect(before.shared > 80 * 30 && before.local == before.shared, "\(before)")

            // The same lockfile in another app: built cold (apps do not restore each other's trees
            // by default), and stored once: not one byte more.
            let second = try await Self.push(repo, to: farm.remote("second", key: secondKey))
            #expect(second.contains("Installing dependencies (npm ci)"), "\(second)")
            #expect(second.contains(/cache: saved 8\d files \([0-9.]+ kB, 0 kB new\)/), "\(second)")
            let after = try await Self.storedBytes(farm)
            #expect(after == before, "stored \(after) after the second app, \(before) before")

            // The clean header starts cold, and the next push is warm again.
            let clean = try await Self.push(repo, to: farm.remote("first", key: firstKey), clean: true)
            #expect(clean.contains("cache: clean build requested: node dependencies start cold"), "\(clean)")
            #expect(clean.contains("Installing dependencies (npm ci)"), "\(clean)")
            let warm = try await Self.push(repo, to: farm.remote("first", key: firstKey))
            #expect(warm.contains("cache: restored"), "\(warm)")

            // A corrupt object in the local tier (same size, other bytes) is found, dropped and fetched again.
            let objects = farm.home.appendingPathComponent("cache/store/objects")
            let victim = try #require(try await sh("sh", ["-c", "grep -rl '^module.exports' \(objects.path) | head -n 1"]).output
                .trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty)
            let original = try Data(contentsOf: URL(fileURLWithPath: victim))
            chmod(victim, 0o644)
            try Data(original.map { $0 == 0x20 ? 0x09 : $0 }).write(to: URL(fileURLWithPath: victim))
            let repaired = try await Self.push(repo, to: farm.remote("first", key: firstKey))
            #expect(repaired.contains("is corrupt (its content no longer matches its digest); dropped; fetching it again from the shared tier"), "\(repaired)")
            #expect(repaired.contains("cache: restored"), "\(repaired)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == original)

            // A worker whose local tier is empty (a new host) starts warm from the shared tier.
            try await sh("sh", ["-c", "rm -rf \(objects.path)/* \(farm.home.path)/cache/store/entries/*"])
            let fresh = try await Self.push(repo, to: farm.remote("first", key: firstKey))
            #expect(fresh.contains(/cache: fetched 8\d objects \([0-9.]+ kB\) from the shared tier/), "\(fresh)")
            #expect(fresh.contains("cache: restored"), "\(fresh)")
            #expect(!fresh.contains("Installing dependencies"), "\(fresh)")

            // A purge starts the app cold on every worker, and leaves the other app's cache alone.
            let purged = try await farm.kiln("cache", "purge", "--app", "first")
            #expect(purged.output.contains("first: dependency cache purged"), "\(purged.output)")
            let cold = try await Self.push(repo, to: farm.remote("first", key: firstKey))
            #expect(cold.contains("cache: miss"), "\(cold)")
            #expect(cold.contains("Installing dependencies (npm ci)"), "\(cold)")
            let other = try await Self.push(repo, to: farm.remote("second", key: secondKey))
            #expect(other.contains("cache: restored"), "\(other)")

            // A build from an archive with --clean starts cold too.
            let archive = try TestEnvironment.temporaryDirectory("archive").appendingPathComponent("app.tar.gz")
            try await sh("git", ["archive", "--format=tar.gz", "-o", archive.path, "HEAD"], in: repo)
            let port = try KilnFarm.freePort()
            let files = Command("python3", ["-m", "http.server", "-b", "127.0.0.1", "\(port)", "-d", archive.deletingLastPathComponent().path])
            try await withRunning([files]) {
                try await KilnFarm.waitForListener("http://127.0.0.1:\(port)/")
                let created = try await farm.kiln("builds", "create", "--app", "second", "--source-url", "http://127.0.0.1:\(port)/app.tar.gz", "--clean")
                #expect(created.succeeded, "\(created.output)")
                #expect(created.output.contains("cache: clean build requested"), "\(created.output)")
                #expect(created.output.contains("Installing dependencies (npm ci)"), "\(created.output)")
            }
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
