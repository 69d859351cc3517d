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
    /// The farm's public keys, current and retired, for checking slugs signed before a rotation.
    let keys: [FarmPublicKey]
    let cache: DependencyCache
    let stack = "heroku-22"

    /// Runs every phase in order; returns what the queue records. Throws a
    /// ``BuildFailure`` (or a part's own error) that becomes the build's error.
    /// An app with a root `Dockerfile` becomes an image (``ImageBuild``) instead of a slug.
    func run(_ context: BuildContext) async throws -> (BuildResult, SignedSlug) {
        let workspace = context.workspace
        let hot = HotUpgrade(keys: keys)
        let resolver = BuildpackResolver(buildersDirectory: configuration.buildersDirectory, cacheDirectory: configuration.buildpackCacheDirectory,
                                         policy: configuration.fetchPolicy)

        let timer = context.timer
        let running = try await timer.measure("fetch") { () async throws -> URL? in
            try await FetchSource().run(context)
            try await WriteConfig().run(context)
            return ImageBuild.applies(to: context) ? nil : try await hot.fetchRunning(context)
        }
        if ImageBuild.applies(to: context) { return try await ImageBuild(key: key).run(context) }
        let layout = BuildLayout(app: workspace.app, cache: workspace.cache, env: workspace.env,
                                 buildpacks: workspace.buildpacks, builders: configuration.buildersDirectory, previous: running)
        let runner = BuildpackRunner(stack: stack, sourceVersion: context.build.commit ?? "", appName: context.build.app, layout: layout,
                                     network: context.settings.app.buildNetwork, user: configuration.buildUser, limits: configuration.buildLimits)
        await context.log("-----> Sandbox: user \(configuration.buildUser.map { "\($0.uid)" } ?? "\(getuid())"), network \(context.settings.app.buildNetwork ? "on" : "off"), \(configuration.buildLimits.summary)")
        let buildpacks = try await timer.measure("detect") { try await Detect(resolver: resolver, runner: runner).run(context) }
        let plans = try await timer.measure("restore") { try await cache.restore(context, buildpacks: buildpacks, stack: stack) }
        let (release, upgrade) = try await timer.measure("compile") {
            (try await Compile(runner: runner).run(context, buildpacks: buildpacks), try await hot.collect(context, buildpacks: buildpacks))
        }
        try await timer.measure("save") { try await cache.save(context, plans: plans) }
        let packed = try await timer.measure("pack") { try await Pack().run(context) }
        let signed = try await timer.measure("sign") {
            try await Sign(key: key, stack: stack).run(context, packed: packed, release: release, buildpacks: buildpacks, upgrade: upgrade)
        }
        try await timer.measure("upload") { try await Upload().run(context, packed: packed, signed: signed) }
        Failpoint.hit(Failpoint.afterUpload)
        let image = try await timer.measure("image") { try await ExportImage(key: key).run(context, signed: signed) }
        let result = BuildResult(slugDigest: packed.digest.hex, manifestDigest: signed.manifestDigest.hex,
                                 signatureDigest: signed.signatureDigest.hex, slugSize: packed.size,
                                 image: image?.reference.description, imagePorts: image?.config.ports)
        return (result, signed)
    }
}
