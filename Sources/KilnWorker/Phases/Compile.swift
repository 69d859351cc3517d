import Foundation
import KilnBuildpacks

/// Phase 4: run each buildpack's `bin/compile` in order, chaining their
/// `export` files, then collect the process types from `bin/release` and
/// the app's Procfile (which wins).
struct Compile {
    let runner: BuildpackRunner

    func run(_ context: BuildContext, buildpacks: [Buildpack]) async throws -> ProcessTypes {
        var exports: [URL] = []
        var processTypes = ProcessTypes()
        for buildpack in buildpacks {
            do {
                try await runner.compile(buildpack, buildDirectory: context.workspace.app, cacheDirectory: context.workspace.cache,
                                         envDirectory: context.workspace.env, exports: exports, log: context.logLine)
            } catch let error as BuildpackError {
                throw BuildFailure(error.message)
            }
            if let export = runner.exportFile(of: buildpack) { exports.append(export) }
            processTypes = processTypes.merging(try await runner.release(buildpack, buildDirectory: context.workspace.app))
        }
        let procfile = context.workspace.app.appendingPathComponent("Procfile")
        if FileManager.default.fileExists(atPath: procfile.path) {
            processTypes = processTypes.merging(try ProcessTypes.parseProcfile(String(contentsOf: procfile, encoding: .utf8)))
        }
        let names = processTypes.commands.keys.sorted().joined(separator: ", ")
        await context.log("-----> Process types: \(names.isEmpty ? "(none)" : names)")
        return processTypes
    }
}
