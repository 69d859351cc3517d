import Foundation
import KilnBuildpacks
import KilnQueue
import KilnSigning

/// A build with Heroku buildpacks, into a signed slug, on the app's stack:
/// fetch (a hot build's running slug) → detect (and the runtimes) → restore → compile (+ the
/// hot upgrade's record) → save → pack → sign → upload → image (export-image apps).
struct SlugPipeline: BuildPipeline {
    let configuration: WorkerConfiguration
    let key: FarmKey
    /// The farm's public keys, current and retired: a hot build's running slug may predate a rotation; never a revoked one.
    let keys: TrustedFarmKeys
    let cache: DependencyCache

    func run(_ context: BuildContext) async throws -> Built {
        let timer = context.timer, workspace = context.workspace
        let stack = try await SelectStack(stacks: configuration.stacks).run(context)
        let hot = HotUpgrade(keys: keys)
        let running = try await timer.measure(.fetch) { try await hot.fetchRunning(context) }
        let resolver = BuildpackResolver(buildersDirectory: configuration.buildersDirectory, cacheDirectory: configuration.buildpackCacheDirectory,
                                         policy: configuration.fetchPolicy)
        let layout = BuildLayout(app: workspace.app, cache: workspace.cache, env: workspace.env,
                                 buildpacks: workspace.buildpacks, builders: configuration.buildersDirectory, previous: running)
        let runner = BuildpackRunner(stack: stack, sourceVersion: context.build.commit ?? "", appName: context.build.app, layout: layout,
                                     network: context.settings.app.buildNetwork, user: configuration.buildUser, limits: configuration.buildLimits)
        await context.log("-----> Sandbox: user \(configuration.buildUser.map { "\($0.uid)" } ?? "\(getuid())"), network \(context.settings.app.buildNetwork ? "on" : "off"), \(configuration.buildLimits.summary)")

        let (buildpacks, runtimes) = try await timer.measure(.detect) {
            let buildpacks = try await Detect(resolver: resolver, runner: runner).run(context)
            let select = SelectRuntimes(buildersDirectory: configuration.buildersDirectory, runtimesDirectory: configuration.runtimesDirectory,
                                        probe: cache.probe, stack: stack)
            return (buildpacks, try await select.run(context, buildpacks: buildpacks))
        }
        let plans = try await timer.measure(.restore) { try await cache.restore(context, buildpacks: buildpacks, stack: stack, runtimes: runtimes) }
        let (compiled, upgrade) = try await timer.measure(.compile) {
            let compiled = try await Compile(runner: runtimes.applied(to: runner)).run(context, buildpacks: buildpacks)
            return (compiled, try await hot.collect(context, compiled: compiled, buildpacks: buildpacks))
        }
        try await timer.measure(.save) { try await cache.save(context, plans: plans) }
        let packed = try await timer.measure(.pack) { try await Pack().run(context, compiled: compiled) }
        let signed = try await timer.measure(.sign) {
            try await Sign(key: key, stack: stack).run(context, packed: packed, compiled: compiled, buildpacks: buildpacks, upgrade: upgrade)
        }
        try await timer.measure(.upload) { try await Upload().run(context, packed: packed, signed: signed) }
        Failpoint.hit(Failpoint.afterUpload)
        let image = try await timer.measure(.image) { try await ExportImage(key: key, stack: stack).run(context, signed: signed) }
        let result = BuildResult(slugDigest: packed.digest.hex, manifestDigest: signed.manifestDigest.hex,
                                 signatureDigest: signed.signatureDigest.hex, slugSize: packed.size,
                                 image: image?.reference.description, imagePorts: image?.config.ports)
        return Built(result: result, signed: signed)
    }
}
