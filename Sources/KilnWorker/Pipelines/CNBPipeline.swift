import Foundation
import KilnBuildpacks
import KilnCNB
import KilnImage
import KilnQueue
import KilnSigning

/// A build with Cloud Native Buildpacks, into a signed OCI image, on the
/// app's stack, as platform.md's lifecycle runs one: detect (the order the
/// app's file or the farm names, resolved in the sandbox) → restore (the
/// app's cached layers) → compile (each buildpack's bin/build) → image (the
/// export: run image, launch layers, app, launcher) → save (what the next
/// build restores, once the image is exported) → sign → upload. A build the
/// farm's default order could not detect goes on as a slug (``FallBackToSlug``).
struct CNBPipeline: BuildPipeline {
    let configuration: WorkerConfiguration
    let key: FarmKey
    let request: CNBRequest
    let cache: CNBLayerCache

    func run(_ context: BuildContext) async throws -> Built {
        let timer = context.timer
        await context.log("-----> \(request.reason)")
        // An image needs the registry: said before anything is built.
        guard let registry = configuration.registry else {
            throw BuildFailure("\(context.build.app) is a Cloud Native Buildpacks app, which builds into an image, and this farm has no registry: start the workers with --registry HOST[:PORT]/PREFIX")
        }
        let stack = try await SelectStack(stacks: configuration.stacks).run(context)
        let resolver = BuildpackResolver(buildersDirectory: configuration.buildersDirectory, cacheDirectory: configuration.buildpackCacheDirectory,
                                         policy: configuration.fetchPolicy)
        let phase = CNBBuild(configuration: configuration, stack: stack)
        await context.log("-----> Sandbox: user \(configuration.buildUser.map { "\($0.uid)" } ?? "\(getuid())"), network \(context.settings.app.buildNetwork ? "on" : "off"), \(configuration.buildLimits.summary)")
        let (directories, lifecycle, detected) = try await timer.measure(.detect) {
            let resolved = try await CNBBuildpacks(configuration: configuration, resolver: resolver).resolve(request, context)
            let directories = try await phase.prepare(context, resolved: resolved)
            let lifecycle = phase.lifecycle(context, resolved: resolved, directories: directories)
            do {
                return (directories, lifecycle, try await phase.detect(context, lifecycle: lifecycle, order: resolved.order))
            } catch let failure as BuildFailure where request.origin == .farmOrder {
                throw FallBackToSlug(why: failure.message)
            }
        }
        let previous = try await timer.measure(.restore) { try await cache.restore(context, into: directories, stack: stack.name) }
        let built = try await timer.measure(.compile) { try await phase.build(context, lifecycle: lifecycle, detected: detected) }
        let image: CNBExport.Exported
        do {
            image = try await timer.measure(.image) {
                try await CNBExport(configuration: configuration, stack: stack).run(context, registry: registry, detected: detected, built: built, directories: directories, previous: previous)
            }
        } catch let missing as CNBExport.KeptLayerMissing {
            // The restored toml made the buildpack keep a layer there is none of: forget the cache, or every build fails so.
            await cache.reset(context, stack: stack.name)
            throw BuildFailure(missing.message + "; the app's cached layers are dropped, so its next build starts cold")
        }
        // Saved only once the image that goes with it is exported: the next build restores tomls whose layers it can reuse.
        await timer.measure(.save) { await cache.save(context, built: built, directories: directories, stack: stack.name, image: image) }
        let signed = try await timer.measure(.sign) {
            try await SignImage(key: key).sign(context, reference: image.reference, size: image.size, ports: image.config.ports, processTypes: image.processTypes,
                                               buildpacks: detected.group.map { "cnb:\($0.reference)" }, stack: stack.name, registry: registry)
        }
        try await timer.measure(.upload) { try await Upload().publish(context, [signed.manifestDigest, signed.signatureDigest]) }
        let result = BuildResult(slugDigest: nil, manifestDigest: signed.manifestDigest.hex, signatureDigest: signed.signatureDigest.hex, slugSize: nil,
                                 image: image.reference.description, imagePorts: image.config.ports)
        return Built(result: result, signed: signed)
    }
}

/// The farm's default CNB order passed no group for an app that names no
/// buildpack: it builds with the classic buildpacks instead.
struct FallBackToSlug: Error {
    let why: String
}
