import Foundation
import KilnCNB
import KilnCache
import KilnConfine
import KilnProcess
import KilnImage

/// The restorer's and the cache half of the exporter's work for a CNB
/// build, through the worker's content-addressed cache (``KilnCache/CacheStore``):
/// after a successful build, each buildpack's `cache = true` layers (the
/// toml and the directory) and the tomls of its launch layers are saved as
/// one tree for the app; the next build of the app on this worker restores
/// that tree into the layers directory before bin/build, so a buildpack
/// finds its cache layers and the metadata of its launch layers as
/// platform.md's restorer leaves them: copies the build user owns, which a
/// buildpack may change in place (the store's objects are never linked in).
/// The app's last image and its layers' digests are kept beside, for the
/// exporter to reuse a layer a buildpack kept (`launch = true`, no directory).
/// `KILN-CLEAN: true` (a clean build) restores nothing.
struct CNBLayerCache: Sendable {
    let store: CacheStore
    /// Where this worker keeps each app's last CNB image (farm-owned).
    let directory: URL

    /// The previous CNB image of an app, as the exporter made it.
    struct Previous: Codable, Sendable, Equatable {
        var image: String
        /// `ESCAPED/LAYER` to the layer's digest in that image.
        var layers: [String: String]
    }

    static func key(app: String, stack: String) -> String {
        CacheKey(parts: [.init("cnb layers", app), .init("stack", stack)]).digest
    }

    func previousFile(app: String) -> URL { directory.appendingPathComponent("\(app).cnb-image.json") }

    /// Restores the app's cached layers into the layers directory; returns
    /// the previous image, or `nil` for a first or clean build.
    func restore(_ context: BuildContext, into directories: CNBWorkspace, stack: String) async throws -> Previous? {
        let app = context.build.app
        guard !context.build.clean else {
            await context.log("-----> KILN-CLEAN: no layer restored, no layer of the previous image reused")
            return nil
        }
        let previous = (try? Data(contentsOf: previousFile(app: app))).flatMap { try? JSONDecoder().decode(Previous.self, from: $0) } // farm-owned: the worker's record of the app's image
        guard let manifest = store.entry(Self.key(app: app, stack: stack), app: app, farmWide: false) else {
            await context.log("-----> Layers: nothing cached for \(app) on this worker")
            return previous
        }
        let started = ContinuousClock.now
        do {
            let restored = try await onThread { [store] () throws -> CacheStore.Restored in
                let layers = try ConfinedDirectory(directories.layers, label: "the layers directory")
                let restored = try store.restore(manifest, into: layers, copies: true)
                try CNBLayerMetadata.dropTypes(inLayers: layers)
                return restored
            }
            await context.log("-----> Layers restored: \(restored.files) files, \(restored.bytes) bytes in \(Self.elapsed(since: started))")
        } catch {
            // A cache fault never fails a build: it goes cold.
            await context.log("-----> Layers not restored (\(error)); building cold")
            try? ConfinedDirectory(directories.layers, label: "the layers directory").removeContents()
        }
        // Copies, given to the build user: a buildpack changes its restored layers in place, as it would the
        // lifecycle's; the store's objects stay root's.
        try await context.handOver(directories.layers)
        return previous
    }

    /// Saves what the next build restores, once the image is exported and
    /// recorded: cached layers (toml and contents), the tomls of launch
    /// layers that are neither cached nor build layers, and each
    /// buildpack's store.toml. A build that keeps nothing replaces the last
    /// entry with an empty tree, so nothing stale is restored.
    func save(_ context: BuildContext, built: [CNBBuilt], directories: CNBWorkspace, stack: String) async {
        var paths: [String] = []
        for result in built {
            let escaped = CNBLayout.escaped(result.buildpack.id)
            for layer in result.layers.layers {
                guard let types = layer.metadata?.types else { continue }
                let restored = CNBLayerMetadata.restored(types)
                if restored.contents, case .provided = layer.outcome { paths += ["\(escaped)/\(layer.name).toml", "\(escaped)/\(layer.name)"] }
                else if restored.toml, !restored.contents { paths.append("\(escaped)/\(layer.name).toml") }
            }
            if result.layers.store != nil { paths.append("\(escaped)/store.toml") }
        }
        let app = context.build.app
        do {
            let saved = try await onThread { [store, paths] () throws -> CacheStore.Saved? in
                let saved = try store.save(directories.layers, paths: paths)
                try store.setEntry(Self.key(app: app, stack: stack), manifest: saved.manifest, app: app)
                return saved
            }
            if let saved, !paths.isEmpty {
                await context.log("-----> Layers cached: \(saved.files) files, \(saved.bytes) bytes (\(saved.newBytes) new)")
            }
        } catch {
            await context.log("-----> Layers not cached (\(error)); the next build starts cold")
        }
    }

    /// Records the image the build made, for the next build's exporter;
    /// `false` (logged) when it could not be written.
    func record(_ context: BuildContext, _ image: CNBExport.Exported) async -> Bool {
        let previous = Previous(image: image.reference.description, layers: image.layerDigests)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) // farm-owned: the worker's cache directory
            try JSONEncoder().encode(previous).write(to: previousFile(app: context.build.app), options: .atomic) // farm-owned: the worker's record
            return true
        } catch {
            await context.log("-----> Warning: the image could not be recorded for the next build (\(error)); its layers are not cached")
            return false
        }
    }

    /// Forgets the app's layers, so that its next build starts cold (after an
    /// export that could not keep a layer, which would fail again).
    func reset(_ context: BuildContext, stack: String) async {
        let app = context.build.app
        try? await onThread { [store, directory] in
            let empty = try store.save(directory, paths: [])
            try store.setEntry(Self.key(app: app, stack: stack), manifest: empty.manifest, app: app)
        }
    }

    static func elapsed(since start: ContinuousClock.Instant) -> String {
        (ContinuousClock.now - start).formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))
    }
}
