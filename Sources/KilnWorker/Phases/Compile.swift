import Foundation
import KilnBuildpacks
import KilnConfine

/// What the compile phase made: the release the buildpacks declare, and the
/// release tarball one of them left as the slug, when one did.
struct Compiled: Sendable {
    /// Process types (the app's Procfile over the buildpacks' defaults), add-ons, config vars.
    let declaration: ReleaseDeclaration
    /// Gigalixir's convention: the tarball that becomes the slug instead of the build directory.
    let releaseOutput: ReleaseOutput?
}

/// The compile phase: run each buildpack's `bin/compile` in order, chaining
/// their `export` files, then collect what their `bin/release` declares,
/// with the app's Procfile over the default process types. A release
/// tarball a buildpack leaves in CACHE_DIR/out is taken out at once and
/// handed forward in the result (``ReleaseOutput``); when nothing declares
/// a web process, web starts that release.
struct Compile {
    let runner: BuildpackRunner

    func run(_ context: BuildContext, buildpacks: [Buildpack]) async throws -> Compiled {
        var declaration = ReleaseDeclaration()
        var output: ReleaseOutput?
        for (index, buildpack) in buildpacks.enumerated() {
            do {
                try await runner.compile(buildpack, after: Array(buildpacks[..<index]), log: context.logLine)
                if await context.logSink.overBudget {
                    throw BuildFailure("the build's log passed its limit of \(context.logSink.maximumBytes >> 20) MiB across its buildpacks (\(buildpack.reference) was compiling): print less")
                }
                if let taken = try context.workspace.cacheDirectory.takeReleaseOutput(to: context.workspace.releaseOutput) {
                    output = taken
                    await context.log("-----> \(buildpack.reference) left the release \(taken.release) \(taken.version) in CACHE_DIR/out: it becomes the slug, at /app, as on Gigalixir")
                }
                let released = try await runner.release(buildpack, after: Array(buildpacks[..<index]), extra: output.map { ["GIGALIXIR_APP_NAME": $0.release] } ?? [:])
                declaration.processTypes = declaration.processTypes.merging(released.processTypes)
                declaration.addons += released.addons.filter { !declaration.addons.contains($0) }
                declaration.configVars.merge(released.configVars) { _, new in new }
            } catch let error as BuildpackError {
                throw BuildFailure(error.message)
            }
        }
        // The build ran since the push: the Procfile may now be a link, a fifo or a huge file.
        if let procfile = try HostileInput.readText("Procfile", in: context.workspace.app, label: "the app", cap: HostileInput.procfileCap) {
            do {
                declaration.processTypes = declaration.processTypes.merging(try ProcessTypes.parseProcfile(procfile))
            } catch let error as BuildpackError {
                throw BuildFailure(error.message)
            }
        }
        if declaration.processTypes.commands["web"] == nil, let output {
            // What Gigalixir's run container does with a release slug and no web process: start the release.
            declaration.processTypes.commands["web"] = "/app/bin/\(output.release) start"
            await context.log("-----> No web process declared: web starts the release \(output.release) (/app/bin/\(output.release) start), as on Gigalixir")
        }
        let names = declaration.processTypes.commands.keys.sorted().joined(separator: ", ")
        await context.log("-----> Process types: \(names.isEmpty ? "(none)" : names)")
        if !declaration.addons.isEmpty { await context.log("-----> Add-ons requested: \(declaration.addons.joined(separator: ", "))") }
        return Compiled(declaration: declaration, releaseOutput: output)
    }
}
