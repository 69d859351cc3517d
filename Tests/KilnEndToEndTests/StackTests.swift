import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Builds run on their app's stack: a real Debian root made by
/// scripts/stack (the tests' `bookworm-min`, ``TestStack``), or the host's
/// own system (`host`, the default, as before stacks).
@Suite struct StackTests {
    /// A buildpack that prints what a build sees of its system.
    static func systemProbe() async throws -> URL {
        try await makeGitRepository([
            "bin/detect*": "#!/bin/sh\necho Probe\n",
            "bin/compile*": """
                #!/bin/bash
                set -e
                echo "stack=$STACK"
                echo "sources.list:"; sed 's/^/  list: /' /etc/apt/sources.list 2>/dev/null || echo "  list: (none)"
                echo "sources.list.d: [$(ls /etc/apt/sources.list.d 2>/dev/null | tr '\\n' ' ')]"
                echo "git: $(command -v git || echo none)"
                echo "bash: $BASH_VERSION"
                echo "debian: $(cat /etc/debian_version)"
                """,
        ])
    }

    static func manifest(_ slug: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: slug.appendingPathComponent("manifest.json"))) as? [String: Any] ?? [:]
    }

    @Test func aBuildOnAStackSeesTheStacksSystemAndItsHerokuNameAndTheManifestNamesBoth() async throws {
        let stacks = try await TestStack.directory()
        let root = stacks.appendingPathComponent("\(TestStack.name)/root")
        let stackSources = try String(contentsOf: root.appendingPathComponent("etc/apt/sources.list"), encoding: .utf8)
        try await KilnFarm.with(workers: 1, options: ["--stacks", stacks.path]) { farm in
            let key = try await farm.createApp("on-stack")
            let set = try await farm.kiln("apps", "set", "--app", "on-stack", "--stack", TestStack.name)
            #expect(set.output.contains("stack \(TestStack.name)"), "\(set.output)")
            let shown = try await farm.kiln("apps", "show", "on-stack")
            #expect(shown.output.contains("stack") && shown.output.contains(TestStack.name), "\(shown.output)")
            let listed = try await farm.kiln("apps", "list")
            #expect(listed.output.contains("STACK") && listed.output.contains(TestStack.name), "\(listed.output)")

            let probe = try await Self.systemProbe()
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(probe.path)\n"])
            let pushed = try await sh("git", ["push", farm.remote("on-stack", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("Stack: \(TestStack.name) (STACK=\(TestStack.heroku))"), "\(pushed.output)")
            #expect(pushed.output.contains("stack=\(TestStack.heroku)"), "\(pushed.output)")
            // The stack's own list, line for line, and none of the host's sources.list.d.
            for line in stackSources.split(separator: "\n") {
                #expect(pushed.output.contains("list: \(line)"), "\(line) missing from: \(pushed.output)")
            }
            #expect(pushed.output.contains("sources.list.d: []"), "\(pushed.output)")
            // minbase has no git; the host has: the host's /usr is not there.
            #expect(FileManager.default.fileExists(atPath: "/usr/bin/git"))
            #expect(pushed.output.contains("git: none"), "\(pushed.output)")

            let slug = try await farm.newestSlug(app: "on-stack")
            let manifest = try Self.manifest(slug)
            #expect(manifest["stack"] as? String == TestStack.name, "\(manifest)")
            #expect(manifest["heroku_stack"] as? String == TestStack.heroku, "\(manifest)")
            #expect(try await farm.kiln("slug", "verify", slug.path).succeeded)

            // The built-in builders run on the stack too: the procfile builder's scripts use the stack's /bin/sh and sed.
            let plain = try await farm.createApp("procfile-on-stack")
            _ = try await farm.kiln("apps", "set", "--app", "procfile-on-stack", "--stack", TestStack.name)
            let procfile = try await makeGitRepository(["Procfile": "web: ./run\nworker: ./work\n"])
            let built = try await sh("git", ["push", farm.remote("procfile-on-stack", key: plain), "main"], in: procfile)
            #expect(built.succeeded, "\(built.output)")
            #expect(built.output.contains("process type: worker"), "\(built.output)")
        }
    }

    @Test func theHostStackIsTheDefaultAndBuildsAsBefore() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("on-host")
            let shown = try await farm.kiln("apps", "show", "on-host", "--json")
            #expect(shown.output.contains("\"stack\" : \"host\""), "\(shown.output)")
            let probe = try await Self.systemProbe()
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(probe.path)\n"])
            let pushed = try await sh("git", ["push", farm.remote("on-host", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("Stack: host (the worker's own system, STACK=heroku-22)"), "\(pushed.output)")
            #expect(pushed.output.contains("stack=heroku-22"), "\(pushed.output)")
            // The host's own apt sources and tools, as builds always saw them.
            let hostParts = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/apt/sources.list.d")) ?? []
            for part in hostParts { #expect(pushed.output.contains(part), "\(part) missing from: \(pushed.output)") }
            #expect(pushed.output.contains("git: /usr/bin/git"), "\(pushed.output)")
            let manifest = try Self.manifest(try await farm.newestSlug(app: "on-host"))
            #expect(manifest["stack"] as? String == "host", "\(manifest)")
            #expect(manifest["heroku_stack"] as? String == "heroku-22", "\(manifest)")
        }
    }

    @Test func anAppWhoseStackTheWorkerDoesNotHaveFailsNamingItAndTheStacksItHas() async throws {
        let stacks = try await TestStack.directory()
        try await KilnFarm.with(workers: 1, options: ["--stacks", stacks.path]) { farm in
            let key = try await farm.createApp("lost")
            let bad = try await farm.kiln("apps", "set", "--app", "lost", "--stack", "Not/A Stack")
            #expect(!bad.succeeded && bad.output.contains("is not a stack name"), "\(bad.output)")
            #expect(try await farm.kiln("apps", "set", "--app", "lost", "--stack", "heroku-99").succeeded)
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n"])
            let pushed = try await sh("git", ["push", farm.remote("lost", key: key), "main"], in: repo)
            #expect(!pushed.succeeded)
            #expect(pushed.output.contains("there is no stack heroku-99 on this worker: it has host, \(TestStack.name)"), "\(pushed.output)")
            #expect(pushed.output.contains("scripts/stack heroku-99 \(stacks.path)"), "\(pushed.output)")
            // Nothing of the build ran: it failed before detect.
            #expect(!pushed.output.contains("detected"), "\(pushed.output)")
        }
    }

    @Test func anAptBuildpackOnTheStackInstallsAPackageFromALocalRepository() async throws {
        let stacks = try await TestStack.directory()
        let repository = try await Self.localAptRepository()
        let port = try KilnFarm.freePort()
        var server = Command("python3", ["-m", "http.server", "--bind", "127.0.0.1", "\(port)", "--directory", repository.path])
        server.gracePeriod = .seconds(2)
        let serving = server
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await serving.run(limit: 1 << 20) }
            defer { group.cancelAll() }
            try await KilnFarm.waitForListener("http://127.0.0.1:\(port)/Packages")
            try await KilnFarm.with(workers: 1, options: ["--stacks", stacks.path]) { farm in
                let key = try await farm.createApp("apt-app")
                #expect(try await farm.kiln("apps", "set", "--app", "apt-app", "--stack", TestStack.name, "--build-network", "on").succeeded)
                let buildpack = try await makeGitRepository(copying: "apt-buildpack")
                let repo = try await makeGitRepository([
                    "Aptfile": ":repo:deb [trusted=yes] http://127.0.0.1:\(port) ./\nkiln-hello\n",
                    "Procfile": "web: kiln-hello\n",
                    ".buildpacks": "file://\(buildpack.path)\n",
                ])
                let pushed = try await sh("git", ["push", farm.remote("apt-app", key: key), "main"], in: repo)
                #expect(pushed.succeeded, "\(pushed.output)")
                #expect(pushed.output.contains("Fetching .debs for kiln-hello"), "\(pushed.output)")
                #expect(pushed.output.contains("Installing kiln-hello_1.0_all.deb"), "\(pushed.output)")
                let slug = try await farm.newestSlug(app: "apt-app")
                let listed = try await sh("tar", ["--zstd", "-tvf", slug.appendingPathComponent("slug.tar.zst").path])
                #expect(listed.output.contains("app/.apt/usr/bin/kiln-hello"), "\(listed.output)")
                #expect(listed.output.contains("app/.profile.d/000_apt.sh"), "\(listed.output)")
            }
        }
    }

    /// A one-package apt repository: `kiln-hello` 1.0 (a shell script in
    /// /usr/bin), built with dpkg-deb and indexed with dpkg-scanpackages, as
    /// a flat repository (`deb URL ./`).
    static func localAptRepository() async throws -> URL {
        let work = try TestEnvironment.temporaryDirectory("apt-repo")
        let package = work.appendingPathComponent("kiln-hello")
        try writeFiles([
            "DEBIAN/control": """
                Package: kiln-hello
                Version: 1.0
                Architecture: all
                Maintainer: Kiln Tests <tests@kiln.invalid>
                Description: says hello from a package installed by an apt buildpack

                """,
            "usr/bin/kiln-hello*": "#!/bin/sh\necho hello from kiln-hello\n",
        ], in: package)
        let repository = work.appendingPathComponent("repo")
        try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true)
        let built = try await sh("dpkg-deb", ["--root-owner-group", "--build", package.path, repository.appendingPathComponent("kiln-hello_1.0_all.deb").path])
        guard built.succeeded else { throw TestSetupError("dpkg-deb failed: \(built.output)") }
        let index = try await sh("/bin/sh", ["-c", "dpkg-scanpackages --multiversion . /dev/null > Packages"], in: repository)
        guard index.succeeded else { throw TestSetupError("dpkg-scanpackages failed: \(index.output)") }
        return repository
    }
}
