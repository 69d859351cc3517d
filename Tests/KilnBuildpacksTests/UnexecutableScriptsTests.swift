import Foundation
import KilnBuildpacks
import KilnDownload
import KilnTestSupport
import Testing

/// Public buildpacks often commit their scripts without the execute bit;
/// Heroku runs them anyway, and so must a worker.
@Suite struct UnexecutableScriptsTests {
    @Test func aGitBuildpackWhoseScriptsLackTheExecuteBitIsDetectedCompiledAndReleased() async throws {
        let scratch = try BuildpackRunnerTests.Scratch()
        // No `*`: written 0644, and committed so (mode 100644), as such repositories are.
        let repository = try await makeGitRepository([
            "bin/detect": "#!/bin/sh\necho Plain\n",
            "bin/compile": "#!/bin/sh\necho compiled > \"$1/compiled\"\n",
            "bin/release": "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: ./serve\\n'\n",
        ])
        #expect(try await sh("git", ["ls-files", "-s", "bin/release"], in: repository).output.hasPrefix("100644"))

        let resolver = BuildpackResolver(buildersDirectory: scratch.layout.builders, cacheDirectory: scratch.layout.buildpacks.appendingPathComponent(".cache"),
                                         policy: FetchPolicy(localDirectories: [repository.deletingLastPathComponent().path]))
        let log = LineCollector()
        let buildpack = try await resolver.resolve(BuildpackReference(.git(url: "file://\(repository.path)", ref: nil)), workspace: scratch.layout.buildpacks,
                                                   log: log.sink)
        #expect(log.lines.contains { $0.contains("bin/detect, bin/compile, bin/release had no execute bit") }, "\(log.lines)")
        // Only the build's copy changed; the repository is as it was.
        #expect(!FileManager.default.isExecutableFile(atPath: repository.appendingPathComponent("bin/release").path))

        let runner = try scratch.runner()
        #expect(try await runner.detect(buildpack) == "Plain")
        try await runner.compile(buildpack, after: [], log: log.sink)
        #expect(FileManager.default.fileExists(atPath: scratch.layout.app.appendingPathComponent("compiled").path))
        // The symptom users saw: a release skipped in silence, and no web process.
        #expect(try await runner.release(buildpack).processTypes.commands["web"] == "./serve")
    }
}
