import Foundation
import KilnBuildpacks

/// Phase 4: run each buildpack's `bin/compile` in order, chaining their
/// `export` files, then collect what their `bin/release` declares, with the
/// app's Procfile over the default process types.
struct Compile {
    let runner: BuildpackRunner

    func run(_ context: BuildContext, buildpacks: [Buildpack]) async throws -> ReleaseDeclaration {
        var declaration = ReleaseDeclaration()
        for (index, buildpack) in buildpacks.enumerated() {
            do {
                try await runner.compile(buildpack, after: Array(buildpacks[..<index]), log: context.logLine)
                let released = try await runner.release(buildpack)
                declaration.processTypes = declaration.processTypes.merging(released.processTypes)
                declaration.addons += released.addons.filter { !declaration.addons.contains($0) }
                declaration.configVars.merge(released.configVars) { _, new in new }
            } catch let error as BuildpackError {
                throw BuildFailure(error.message)
            }
        }
        let procfile = context.workspace.app.appendingPathComponent("Procfile")
        if FileManager.default.fileExists(atPath: procfile.path) {
            do {
                declaration.processTypes = declaration.processTypes.merging(try ProcessTypes.parseProcfile(String(contentsOf: procfile, encoding: .utf8)))
            } catch let error as BuildpackError {
                throw BuildFailure(error.message)
            }
        }
        let names = declaration.processTypes.commands.keys.sorted().joined(separator: ", ")
        await context.log("-----> Process types: \(names.isEmpty ? "(none)" : names)")
        if !declaration.addons.isEmpty { await context.log("-----> Add-ons requested: \(declaration.addons.joined(separator: ", "))") }
        return declaration
    }
}
