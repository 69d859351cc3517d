import Foundation
import KilnCNB
import KilnConfine
import KilnImage
import KilnProcess
import KilnSandbox

/// The export phase of a CNB build (platform.md's exporter): an OCI image
/// in the farm's registry on the run image, one layer per launch layer at
/// `/layers/<buildpack>/<layer>`, the app at `/workspace`, and a layer
/// with the launcher (`/cnb/lifecycle/launcher`, `/cnb/process/<type>`
/// links to it, the launch file `/cnb/kiln-launch`). The config carries the
/// lifecycle's labels, the buildpacks' labels and process types, the
/// launcher as entrypoint and `/workspace` as working directory. Every
/// layer is written deterministically (``KilnImage/LayeredImage``), so an
/// unchanged layer has the digest it had and the registry keeps the blob it
/// has; a layer a buildpack kept without contents (`launch = true`, no
/// directory) is the previous image's, by the digest recorded for it.
///
/// The run image: `--cnb-run-image` when the farm sets it, else the stack's
/// own run image, else the farm's export base image (`--export-base-image`),
/// the one slugs are exported onto: one name, one meaning, with the CNB
/// option overriding both for CNB apps only.
struct CNBExport {
    let configuration: WorkerConfiguration
    let stack: Stack

    /// The owner of the app and layer files in the image: the CNB user of
    /// builder and run images (1000:1000), not the worker's build user,
    /// whose uid means nothing in the image.
    static let owner = (uid: 1000, gid: 1000)

    struct Exported: Sendable {
        let reference: ImageReference
        let config: ImageConfig
        let processTypes: [String: String]
        let size: Int64
        /// `ESCAPED/LAYER` to its digest in the image.
        let layerDigests: [String: String]
    }

    /// A launch layer a buildpack kept that the previous image does not have.
    struct KeptLayerMissing: Error {
        let message: String
    }

    var runImage: String? { configuration.cnbRunImage ?? stack.runImage ?? configuration.stackImage }

    /// Exports to `registry`, the farm's (the pipeline checked it has one before building).
    func run(_ context: BuildContext, registry: RegistrySettings, detected: CNBDetected, built: [CNBBuilt], directories: CNBWorkspace,
             previous: CNBLayerCache.Previous?) async throws -> Exported {
        guard let base = runImage else {
            throw BuildFailure("no run image for \(context.build.app): set --cnb-run-image or --export-base-image")
        }
        let launcher: Data
        do {
            launcher = try Data(contentsOf: configuration.cnbLauncher) // farm-owned: the operator's launcher binary
        } catch {
            throw BuildFailure("the CNB launcher \(configuration.cnbLauncher.path) cannot be read: make it with `scripts/build-launcher.sh \(configuration.cnbLauncher.path)`, or point --cnb-launcher at it")
        }
        var image = LayeredImage(registry: registry, base: base)
        // The worker's compressed layers: an unchanged layer is linked, not compressed again.
        image.blobCache = LayerBlobCache(configuration.layout.cnbLayerCache)
        let plan: CNBExportPlan
        do {
            let environment = try await image.baseEnvironment()
            plan = try CNBExportPlan.make(built, layersDirectory: directories.layers, baseEnvironment: environment)
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        } catch let error as CNBError {
            throw BuildFailure(error.message)
        }
        if plan.processes.isEmpty {
            // As the lifecycle does: an image without processes is still an image (a base for another,
            // or one run with a command); the release simply has no process types.
            await context.log("-----> Warning: the buildpacks \(detected.group.map(\.reference).joined(separator: ", ")) declared no process in launch.toml: the image has nothing to start by default")
        }

        let layers = try ConfinedDirectory(directories.layers, label: "the layers directory")
        var sources: [ImageLayerSource] = []
        var keys: [String] = []
        for layer in plan.layers {
            let key = "\(layer.escaped)/\(layer.name)"
            if layer.reused {
                guard let digest = previous?.layers[key] else {
                    throw KeptLayerMissing(message: "\(layer.buildpack)@\(layer.buildpackVersion) kept its launch layer \(layer.name) from the previous image, which has none (a first or clean build): the buildpack must write the layer's directory")
                }
                sources.append(.reused(digest, comment: "\(layer.buildpack):\(layer.name) (kept)"))
            } else {
                // Opened beneath the layers directory, no link on the way: the build made every directory there.
                guard let directory = try layers.directory(key, links: .none) else {
                    throw BuildFailure("\(layer.buildpack)@\(layer.buildpackVersion)'s launch layer \(layer.name) vanished before the export")
                }
                sources.append(ImageLayerSource(content: .confined(directory), path: layer.inside, uid: Self.owner.uid, gid: Self.owner.gid,
                                                comment: "\(layer.buildpack):\(layer.name)"))
            }
            keys.append(key)
        }
        let app = try ConfinedDirectory(context.workspace.app, label: "the app")
        guard let appDirectory = directories.path.isEmpty ? app : try app.directory(directories.path, links: .none) else {
            throw BuildFailure("the app's directory \(directories.path) vanished before the export")
        }
        sources.append(ImageLayerSource(content: .confined(appDirectory), path: CNBLayout.workspaceInside, uid: Self.owner.uid, gid: Self.owner.gid, comment: "app"))
        var launcherFiles: [ImageLayerFile] = [
            .file(CNBExportPlan.launcherInside, launcher, executable: true),
            .file(CNBExportPlan.launchFileInside, Data(plan.launchFile.utf8)),
        ]
        for process in plan.processes { launcherFiles.append(.link("/cnb/process/\(process.type)", to: "../lifecycle/launcher")) }
        sources.append(.files(launcherFiles, comment: "launcher"))

        var labels = plan.labels
        for (type, command) in plan.processTypes { labels["dev.kiln.process.\(type)"] = command }
        labels["io.buildpacks.build.metadata"] = plan.buildMetadataLabel(group: detected.group)
        labels["io.buildpacks.lifecycle.metadata"] = plan.lifecycleMetadataLabel(group: detected.group)
        labels["io.buildpacks.stack.id"] = stack.heroku
        let config = LayeredImage.Config(
            env: ["CNB_LAYERS_DIR": CNBLayout.layersInside, "CNB_APP_DIR": CNBLayout.workspaceInside, "CNB_LAUNCH_FILE": CNBExportPlan.launchFileInside],
            entrypoint: [CNBExportPlan.launcherInside], cmd: [], workingDir: CNBLayout.workspaceInside, labels: labels)
        let previousImage = previous.flatMap { try? ImageReference(parsing: $0.image) }
        let exported: LayeredImage.Exported
        do {
            exported = try await image.export(sources, config: config, app: context.build.app, tag: context.build.id, previous: previousImage,
                                              scratch: context.workspace.root.appendingPathComponent("cnb-export"), log: { line in await context.log(line) })
        } catch let error as ImageError where plan.layers.contains(where: \.reused) {
            // A kept layer the previous image no longer has (its registry collected it): the same restored toml would fail the next build too.
            throw KeptLayerMissing(message: error.description)
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        // Bounded like the dependency cache: its budget when the worker has one, else 10 GB.
        try? await onThread { [image] in image.blobCache?.prune(budget: configuration.cacheBudget ?? 10_000_000_000) }
        var digests: [String: String] = [:]
        for (key, layer) in zip(keys, exported.layers) { digests[key] = layer.digest }
        let size = exported.layers.reduce(Int64(0)) { $0 + $1.size }
        return Exported(reference: exported.reference, config: exported.config, processTypes: plan.processTypes, size: size, layerDigests: digests)
    }
}
