import Foundation
import KilnBuildpacks
import KilnDownload
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The detect phase of a slug: which buildpacks build the app.
@Suite struct DetectTests {
    /// Built-in builders in the scratch's builders/, in ORDER, each with its bin/detect.
    func builders(_ detects: [(name: String, detect: String, looksFor: String)], in scratch: PhaseScratch) throws {
        let directory = scratch.configuration.buildersDirectory
        try detects.map(\.name).joined(separator: "\n").write(to: directory.appendingPathComponent("ORDER"), atomically: true, encoding: .utf8)
        for builder in detects {
            try writeFiles(["bin/detect*": builder.detect, "bin/compile*": "#!/bin/sh\nexit 0\n", "builder.conf": "detects = \(builder.looksFor)\n"],
                           in: directory.appendingPathComponent(builder.name))
        }
    }

    func detect(_ scratch: PhaseScratch, config: [String: String] = [:]) async throws -> [Buildpack] {
        let resolver = BuildpackResolver(buildersDirectory: scratch.configuration.buildersDirectory,
                                         cacheDirectory: scratch.root.appendingPathComponent("buildpack-cache"), policy: scratch.configuration.fetchPolicy)
        try scratch.handOver()
        return try await Detect(resolver: resolver, runner: scratch.runner()).run(try scratch.context(config: config))
    }

    @Test func theFirstBuiltInBuilderWhoseDetectAcceptsTheAppBuildsIt() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["mix.exs": "defmodule Demo.MixProject do end\n"], in: scratch.workspace.app)
        try builders([
            ("node", "#!/bin/sh\n[ -f \"$1/package.json\" ] && echo Node\n", "package.json"),
            ("elixir", "#!/bin/sh\n[ -f \"$1/mix.exs\" ] && echo Elixir\n", "mix.exs"),
            ("static", "#!/bin/sh\necho Static\n", "index.html"),
        ], in: scratch)
        let buildpacks = try await detect(scratch)
        #expect(buildpacks.map(\.reference) == ["elixir"])
        // The chosen builder is copied into the workspace, where the sandbox mounts it.
        #expect(buildpacks.first?.directory.path.hasPrefix(scratch.workspace.buildpacks.path) == true)
        #expect(scratch.log.text.contains("-----> Elixir app detected by the built-in elixir builder"))
    }

    @Test func anAppNoBuilderAcceptsIsRefusedListingWhatEachLooksFor() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["README": "nothing to build"], in: scratch.workspace.app)
        try builders([
            ("node", "#!/bin/sh\n[ -f \"$1/package.json\" ] && echo Node\n", "package.json"),
            ("python", "#!/bin/sh\nexit 1\n", "requirements.txt or pyproject.toml"),
        ], in: scratch)
        let message = await failure { try await detect(scratch) }
        #expect(message == "no builder detected this app; tried node (package.json), python (requirements.txt or pyproject.toml). Add one of those files, or a .buildpacks file naming your buildpacks")
    }

    /// A named buildpack that declines often says why (heroku-buildpack-static:
    /// "Stack heroku-22 is not supported!"): the refusal keeps what it said.
    @Test func aNamedBuildpackThatDeclinesIsRefusedWithWhatItsDetectSaid() async throws {
        var scratch = try PhaseScratch()
        let buildpack = try await makeGitRepository(["bin/detect*": "#!/bin/sh\necho 'Stack '$STACK' is not supported!' >&2\nexit 1\n", "bin/compile*": "#!/bin/sh\n"])
        scratch.configuration.fetchPolicy = FetchPolicy(localDirectories: [buildpack.deletingLastPathComponent().path])
        try writeFiles([".buildpacks": "file://\(buildpack.path)\n"], in: scratch.workspace.app)
        let message = await failure { try await detect(scratch) }
        #expect(message == "file://\(buildpack.path): bin/detect does not accept this app; it says:\nStack heroku-22 is not supported!")
    }
}
