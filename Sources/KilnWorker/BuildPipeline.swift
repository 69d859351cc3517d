import Foundation
import KilnBlobStore
import KilnBuildpacks
import KilnQueue
import KilnSigning
import KilnSlug

/// One build, start to finish, as the phases of a buildpack lifecycle.
struct BuildPipeline: Sendable {
    let configuration: WorkerConfiguration
    let key: FarmKey
    let stack = "heroku-22"

    /// Runs every phase in order; returns what the queue records. Throws a
    /// ``BuildFailure`` (or a part's own error) that becomes the build's error.
    func run(_ context: BuildContext) async throws -> (BuildResult, SignedSlug) {
        let runner = BuildpackRunner(stack: stack, sourceVersion: context.build.commit ?? "")
        let resolver = BuildpackResolver(buildersDirectory: configuration.buildersDirectory)

        let cache = DependencyCache()
        var timer = PhaseTimer()

        try await timer.measure("fetch") { try await FetchSource().run(context) }
        let buildpacks = try await timer.measure("detect") { try await Detect(resolver: resolver, runner: runner).run(context) }
        try await timer.measure("restore") { try await cache.restore(context) }
        let processTypes = try await timer.measure("compile") { try await Compile(runner: runner).run(context, buildpacks: buildpacks) }
        try await timer.measure("save") { try await cache.save(context) }
        let packed = try await timer.measure("pack") { try await Pack().run(context) }
        let signed = try await timer.measure("sign") {
            try await Sign(key: key, stack: stack).run(context, packed: packed, processTypes: processTypes, buildpacks: buildpacks)
        }
        await context.log("-----> Timings: \(timer.summary)")
        let result = BuildResult(slugDigest: packed.digest.hex, manifestDigest: signed.manifestDigest.hex,
                                 signatureDigest: signed.signatureDigest.hex, slugSize: packed.size)
        return (result, signed)
    }
}
