import Foundation
import KilnCNB
import KilnCache
import KilnConfine
import KilnProcess
import KilnImage

/// The restorer's and the cache half of the exporter's work for a CNB
/// build, through the content-addressed dependency cache (``KilnCache/CacheStore``),
/// its worker's local tier and the farm's shared tier. Once an image is
/// exported, each buildpack's `cache = true` layers (toml and directory),
/// the tomls of its launch-only layers, its `store.toml`, and the record of
/// the image (its reference and each launch layer's digest,
/// `.kiln-image.json`) are saved as one tree for the app and copied to the
/// shared tier; the next build of the app, on any worker, restores that tree
/// into the layers directory before bin/build, as platform.md's restorer
/// leaves it: copies the build user owns, which a buildpack may change in
/// place, each layer toml without its `[types]`. The record goes to the
/// exporter, to reuse a layer a buildpack kept (`launch = true`, no
/// directory), and out of the layers before any buildpack runs.
/// `KILN-CLEAN: true` (a clean build) restores nothing.
struct CNBLayerCache: Sendable {
    let local: CacheStore
    let shared: CacheStore

    /// The previous CNB image of an app, as the exporter made it.
    struct Previous: Codable, Sendable, Equatable {
        var image: String
        /// `ESCAPED/LAYER` to the layer's digest in that image.
        var layers: [String: String]
    }

    /// The record's name at the top of the layers directory: no buildpack's
    /// directory starts with a period, so none can be it.
    static let record = ".kiln-image.json"

    static func key(app: String, stack: String) -> String {
        CacheKey(parts: [.init("cnb layers", app), .init("stack", stack)]).digest
    }

    /// Restores the app's cached layers into the layers directory; returns
    /// the previous image, or `nil` for a first or clean build.
    func restore(_ context: BuildContext, into directories: CNBWorkspace, stack: String) async throws -> Previous? {
        let app = context.build.app, key = Self.key(app: app, stack: stack)
        guard !context.build.clean else {
            await context.log("-----> KILN-CLEAN: no layer restored, no layer of the previous image reused")
            return nil
        }
        let started = ContinuousClock.now
        do {
            let found = try await onThread { [local, shared] () throws -> (CacheStore.Restored, Previous?, String)? in
                var tier = "this worker's cache"
                guard let manifest = local.entry(key, app: app, farmWide: false) ?? shared.entry(key, app: app, farmWide: false).map({ manifest in
                    tier = "the farm's shared cache"
                    return manifest
                }) else { return nil }
                if tier != "this worker's cache" { _ = try local.pull(manifest, from: shared) }
                let layers = try ConfinedDirectory(directories.layers, label: "the layers directory")
                // bin/detect could write the layers directory: whatever record it left goes, so the one read is the store's.
                try layers.remove(Self.record)
                let restored = try local.restore(manifest, into: layers, copies: true)
                let text = try layers.readText(Self.record, cap: 1 << 20, links: .none)
                try layers.remove(Self.record)
                try CNBLayerMetadata.dropTypes(inLayers: layers)
                return (restored, text.flatMap { try? JSONDecoder().decode(Previous.self, from: Data($0.utf8)) }, tier)
            }
            guard let (restored, previous, tier) = found else {
                await context.log("-----> Layers: nothing cached for \(app)")
                return nil
            }
            await context.log("-----> Layers restored from \(tier): \(restored.files) files, \(restored.bytes) bytes in \(Self.elapsed(since: started))")
            // Copies, given to the build user: a buildpack changes its restored layers in place, as it would the
            // lifecycle's; the store's objects stay root's.
            try await context.handOver(directories.layers)
            return previous
        } catch {
            // A cache fault never fails a build: it goes cold.
            await context.log("-----> Layers not restored (\(error)); building cold")
            try? ConfinedDirectory(directories.layers, label: "the layers directory").removeContents()
            return nil
        }
    }

    /// Saves what the next build restores, once the image is exported:
    /// cached layers (toml and contents), the tomls of launch layers that
    /// are neither cached nor build layers, each buildpack's store.toml,
    /// and the image's record; then copies it to the shared tier. A failure
    /// is logged and drops the app's entry, so nothing stale is restored.
    func save(_ context: BuildContext, built: [CNBBuilt], directories: CNBWorkspace, stack: String, image: CNBExport.Exported) async {
        var paths = [Self.record]
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
        let app = context.build.app, key = Self.key(app: app, stack: stack)
        let record = Previous(image: image.reference.description, layers: image.layerDigests)
        do {
            let saved = try await onThread { [self, paths] () throws -> CacheStore.Saved in
                let layers = try ConfinedDirectory(directories.layers, label: "the layers directory")
                // The build's processes are gone; the record is the worker's, written beneath the layers' descriptor.
                try layers.remove(Self.record)
                let handle = try layers.createFile(Self.record, mode: 0o644)
                try handle.write(contentsOf: try JSONEncoder().encode(record))
                try handle.close()
                let saved = try local.save(directories.layers, paths: paths)
                try publish(saved.manifest, key: key, app: app)
                return saved
            }
            await context.log("-----> Layers cached: \(saved.files) files, \(saved.bytes) bytes (\(saved.newBytes) new)")
        } catch {
            await context.log("-----> Layers not cached (\(error)); the next build starts cold")
            await reset(context, stack: stack)
        }
    }

    /// Forgets the app's layers in both tiers, so that its next build
    /// starts cold (after an export that could not keep a layer, which
    /// would fail again, or a save that failed half way).
    func reset(_ context: BuildContext, stack: String) async {
        let app = context.build.app, key = Self.key(app: app, stack: stack)
        let empty = context.workspace.root.appendingPathComponent("cnb-empty")
        try? await onThread { [self] in
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true) // farm-owned: an empty directory in the workspace
            try publish(try local.save(empty, paths: []).manifest, key: key, app: app)
        }
    }

    /// Makes `manifest` (saved in the local tier) the app's entry in both
    /// tiers, the objects the shared tier lacks copied to it. Blocks on I/O.
    func publish(_ manifest: String, key: String, app: String) throws {
        try local.setEntry(key, manifest: manifest, app: app)
        try shared.pull(manifest, from: local)
        try shared.setEntry(key, manifest: manifest, app: app)
    }

    static func elapsed(since start: ContinuousClock.Instant) -> String {
        (ContinuousClock.now - start).formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))
    }
}
