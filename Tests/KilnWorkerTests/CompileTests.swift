import Foundation
import KilnBuildpacks
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The compile phase: buildpacks compiled in the sandbox, their release
/// declared, and a release tarball they leave handed forward as a value.
@Suite struct CompileTests {
    /// A bin/compile that leaves a release `myapp` (with its bin/myapp) as `CACHE_DIR/out/NAME.tar.gz`, as Gigalixir's releases buildpack does.
    static func leavesRelease(_ name: String) -> String {
        """
        #!/bin/sh
        set -e
        mkdir -p /tmp/rel/bin "$2/out"
        echo '#!/bin/sh' > /tmp/rel/bin/myapp
        tar -czf "$2/out/\(name).tar.gz" -C /tmp/rel .

        """
    }

    @Test func compileDeclaresTheReleaseWithTheProcfileOverTheBuildpacksDefaults() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Procfile": "web: bin/server --port $PORT\n"], in: scratch.workspace.app)
        let buildpack = try scratch.buildpack("maker", [
            "compile": "#!/bin/sh\nset -e\necho '-----> making'\necho built > \"$1/artifact\"\n",
            "release": "#!/bin/sh\nprintf -- '---\\naddons:\\n  - heroku-postgresql\\ndefault_process_types:\\n  web: default-web\\n  worker: bin/worker\\n'\n",
        ])
        try scratch.handOver()
        let compiled = try await Compile(runner: scratch.runner()).run(try scratch.context(), buildpacks: [buildpack])
        #expect(compiled.declaration.processTypes.commands == ["web": "bin/server --port $PORT", "worker": "bin/worker"])
        #expect(compiled.declaration.addons == ["heroku-postgresql"])
        #expect(compiled.releaseOutput == nil)
        #expect(try String(contentsOf: scratch.workspace.app.appendingPathComponent("artifact"), encoding: .utf8) == "built\n")
        #expect(scratch.log.lines.contains("-----> making"))
        #expect(scratch.log.lines.contains("-----> Process types: web, worker"))
        #expect(scratch.log.lines.contains("-----> Add-ons requested: heroku-postgresql"))
    }

    @Test func aReleaseTarballLeftInCacheDirOutIsTakenOutOfTheCacheIntoTheResult() async throws {
        let scratch = try PhaseScratch()
        let buildpack = try scratch.buildpack("releases", [
            "compile": Self.leavesRelease("myapp-1.0.0-rc.1") + "echo kept > \"$2/deps\"\n",
            // Gigalixir's bin/release reads the release's name.
            "release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: /app/bin/%s start\\n' \"$GIGALIXIR_APP_NAME\"\n",
        ])
        try scratch.handOver()
        let compiled = try await Compile(runner: scratch.runner()).run(try scratch.context(), buildpacks: [buildpack])
        let output = try #require(compiled.releaseOutput)
        #expect(output.release == "myapp" && output.version == "1.0.0-rc.1")
        #expect(output.file == scratch.workspace.releaseOutput)
        #expect(FileManager.default.fileExists(atPath: output.file.path))
        // Out of CACHE_DIR, so not kept as cache; the rest of the cache stays.
        #expect(!FileManager.default.fileExists(atPath: scratch.workspace.cache.appendingPathComponent("out").path))
        #expect(FileManager.default.fileExists(atPath: scratch.workspace.cache.appendingPathComponent("deps").path))
        #expect(compiled.declaration.processTypes.commands == ["web": "/app/bin/myapp start"])
        #expect(scratch.log.text.contains("releases left the release myapp 1.0.0-rc.1 in CACHE_DIR/out: it becomes the slug"))
    }

    /// Gigalixir's releases buildpack leaves the tarball and may print no
    /// web process; its run container starts the release anyway.
    @Test func aReleaseTarballWithNoWebProcessDeclaredStartsTheRelease() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Procfile": "worker: /app/bin/myapp eval Worker.run\n"], in: scratch.workspace.app)
        let buildpack = try scratch.buildpack("releases", [
            "compile": Self.leavesRelease("myapp-0.1.0"),
            "release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types: {}\\n'\n",
        ])
        try scratch.handOver()
        let compiled = try await Compile(runner: scratch.runner()).run(try scratch.context(), buildpacks: [buildpack])
        #expect(compiled.declaration.processTypes.commands == ["web": "/app/bin/myapp start", "worker": "/app/bin/myapp eval Worker.run"])
        #expect(scratch.log.lines.contains("-----> No web process declared: web starts the release myapp (/app/bin/myapp start), as on Gigalixir"))
    }

    @Test func aReleaseTarballThatIsALinkIsRefused() async throws {
        let scratch = try PhaseScratch()
        let buildpack = try scratch.buildpack("sneaky", [
            "compile": "#!/bin/sh\nmkdir -p \"$2/out\"\nln -s /etc/shadow \"$2/out/myapp-1.0.0.tar.gz\"\n",
        ])
        try scratch.handOver()
        let message = await failure { try await Compile(runner: scratch.runner()).run(try scratch.context(), buildpacks: [buildpack]) }
        #expect(message == "CACHE_DIR/out/myapp-1.0.0.tar.gz is a symbolic link, not a regular file")
    }

    @Test func aBuildWhoseLogPassesItsBudgetFailsNamingTheBuildpack() async throws {
        let scratch = try PhaseScratch(logBudget: 2 << 20)
        let buildpack = try scratch.buildpack("chatty", ["compile": "#!/bin/sh\nyes 'a line of chatter that goes on' | head -n 100000\n"])
        try scratch.handOver()
        let message = await failure { try await Compile(runner: scratch.runner()).run(try scratch.context(), buildpacks: [buildpack]) }
        #expect(message == "the build's log passed its limit of 2 MiB across its buildpacks (chatty was compiling): print less")
    }
}
