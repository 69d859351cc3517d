import Foundation
import KilnBuildpacks

/// Phase 2: choose the buildpacks. A `.buildpacks` file names them in order;
/// otherwise the first built-in builder whose `bin/detect` accepts the app.
struct Detect {
    let resolver: BuildpackResolver
    let runner: BuildpackRunner

    func run(_ context: BuildContext) async throws -> [Buildpack] {
        let listFile = context.workspace.app.appendingPathComponent(".buildpacks")
        if FileManager.default.fileExists(atPath: listFile.path) {
            let text = try String(contentsOf: listFile, encoding: .utf8)
            let references = try BuildpackReference.parseList(text)
            await context.log("-----> .buildpacks names \(references.count) buildpack(s)")
            var buildpacks: [Buildpack] = []
            for reference in references {
                let buildpack = try await resolver.resolve(reference, workspace: context.workspace.buildpacks, log: context.logLine)
                guard let name = try await runner.detect(buildpack, buildDirectory: context.workspace.app) else {
                    throw BuildFailure("\(reference): bin/detect does not accept this app")
                }
                await context.log("-----> \(name) app detected (\(reference))")
                buildpacks.append(buildpack)
            }
            return buildpacks
        }
        for builder in try resolver.builtInBuilders() {
            if let name = try await runner.detect(builder, buildDirectory: context.workspace.app) {
                await context.log("-----> \(name) app detected")
                return [try await resolver.resolve(BuildpackReference(.builtIn(name: builder.reference)), workspace: context.workspace.buildpacks, log: context.logLine)]
            }
        }
        throw BuildFailure("no builder detected this app: add a Procfile, or a .buildpacks file naming your buildpacks")
    }
}
