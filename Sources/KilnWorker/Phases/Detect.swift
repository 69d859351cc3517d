import Foundation
import KilnBuildpacks
import KilnConfine

/// The detect phase of a slug: choose the buildpacks (an app with a root
/// `Dockerfile` never gets here: ``BuildKind`` makes it an image), in this order: a `.buildpacks` file
/// names them; a `BUILDPACK_URL` config var names one; otherwise the first
/// built-in builder whose `bin/detect` accepts the app. The log says which rule decided.
struct Detect {
    let resolver: BuildpackResolver
    let runner: BuildpackRunner

    func run(_ context: BuildContext) async throws -> [Buildpack] {
        let app = context.workspace.app
        if let text = try HostileInput.readText(".buildpacks", in: app, label: "the app", cap: HostileInput.listCap) {
            let references = try BuildpackReference.parseList(text)
            await context.log("-----> .buildpacks names \(references.count) buildpack(s)")
            return try await resolveAndDetect(references, context)
        }
        if let url = context.settings.config.vars["BUILDPACK_URL"] {
            let reference = try BuildpackReference.parseConfigVar(url)
            await context.log("-----> The BUILDPACK_URL config var names \(reference)")
            return try await resolveAndDetect([reference], context)
        }
        let builders = try resolver.builtInBuilders()
        for builder in builders {
            if let name = try await runner.detect(builder.buildpack) {
                await context.log("-----> \(name) app detected by the built-in \(builder.name) builder")
                let resolved = try await resolver.resolve(BuildpackReference(.builtIn(name: builder.name)), workspace: context.workspace.buildpacks, log: context.logLine)
                try await context.handOver(context.workspace.buildpacks)
                return [resolved]
            }
        }
        let tried = builders.map { "\($0.name) (\($0.detects))" }.joined(separator: ", ")
        throw BuildFailure("no builder detected this app; tried \(tried). Add one of those files, or a .buildpacks file naming your buildpacks")
    }

    func resolveAndDetect(_ references: [BuildpackReference], _ context: BuildContext) async throws -> [Buildpack] {
        var buildpacks: [Buildpack] = []
        for reference in references {
            buildpacks.append(try await resolver.resolve(reference, workspace: context.workspace.buildpacks, log: context.logLine))
        }
        try await context.handOver(context.workspace.buildpacks)
        for (reference, buildpack) in zip(references, buildpacks) {
            let (name, said) = try await runner.detection(buildpack)
            guard let name else {
                // Buildpacks put the headline first and the details after (heroku-buildpack-python's
                // 34 lines start with what is wrong): the first lines are kept, and the last few.
                let why = (said.count <= 40 ? said : said.prefix(30) + ["…"] + said.suffix(8)).joined(separator: "\n")
                throw BuildFailure("\(reference): bin/detect does not accept this app" + (why.isEmpty ? "" : "; it says:\n\(why)"))
            }
            await context.log("-----> \(name) app detected by \(reference)")
        }
        return buildpacks
    }
}
