import Foundation
import KilnProcess

/// Composes an OCI image from a base image and layers made from directories,
/// from entries given in memory, or taken from the app's previous image, and
/// pushes it to the farm's registry as `REPO/APP:tag`.
///
/// As ``SlugImage`` does: the base is pulled with skopeo into an OCI layout
/// (by digest), the layers are written into it, the base's config is edited,
/// a manifest is written and `skopeo copy` pushes it. Everything that goes in
/// is fixed by the inputs (layers sorted and stamped as ``LayerTar`` says,
/// JSON with sorted keys, every date the epoch), so the same inputs on the
/// same base give the same manifest digest on any worker.
public struct LayeredImage: Sendable {
    public var registry: RegistrySettings
    /// The image the layers go on, e.g. `registry.example.com/stacks/run:22`.
    public var base: String

    /// The worker's compressed layers by diff_id (``LayerBlobCache``); `nil`: every layer is compressed.
    public var blobCache: LayerBlobCache?

    public init(registry: RegistrySettings, base: String) {
        self.registry = registry
        self.base = base
    }

    /// What the image config gets over the base's.
    public struct Config: Sendable, Equatable {
        /// Set by name over the base's `Env` (a base variable keeps its place, a new one is appended in name order).
        public var env: [String: String]
        /// `nil` keeps the base's; an empty array removes it. A new entrypoint clears the base's
        /// `Cmd` unless `cmd` is given too (as a Dockerfile's ENTRYPOINT does).
        public var entrypoint: [String]?
        /// `nil` keeps the base's (unless `entrypoint` is given); an empty array removes it.
        public var cmd: [String]?
        /// `nil` keeps the base's.
        public var workingDir: String?
        /// Set by name over the base's labels.
        public var labels: [String: String]
        /// `nil` keeps the base's.
        public var user: String?

        public init(env: [String: String] = [:], entrypoint: [String]? = nil, cmd: [String]? = nil, workingDir: String? = nil,
                    labels: [String: String] = [:], user: String? = nil) {
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.workingDir = workingDir
            self.labels = labels
            self.user = user
        }
    }

    /// The image as pushed.
    public struct Exported: Sendable {
        /// One layer the export added over the base, in order.
        public struct Layer: Sendable, Equatable {
            public var comment: String
            /// The compressed blob's digest, as the manifest names it.
            public var digest: String
            /// The uncompressed tar's digest, as the config's `rootfs` names it.
            public var diffID: String
            public var size: Int64
            /// Already in the previous image, so not uploaded again.
            public var reused: Bool

            public init(comment: String, digest: String, diffID: String, size: Int64, reused: Bool) {
                self.comment = comment
                self.digest = digest
                self.diffID = diffID
                self.size = size
                self.reused = reused
            }
        }

        /// Pinned to the pushed manifest's digest.
        public var reference: ImageReference
        public var config: ImageConfig
        public var layers: [Layer]
        /// The base image's manifest digest, as the registry stores it.
        public var baseDigest: String
    }

    /// A layer of the previous image, as its manifest and config name it.
    struct PreviousLayer: Sendable {
        var descriptor: OCILayout.Descriptor
        var diffID: String
    }

    static let epoch = "1970-01-01T00:00:00Z"

    /// Builds the image in `scratch` (a directory of the farm's, emptied of
    /// what an earlier export left) and pushes it as `REPO/APP:tag`; returns it by digest.
    /// `previous` (the app's previous image, by digest) is pulled first so that
    /// its layers can be recognised and reused; one that cannot be pulled is logged and ignored.
    public func export(_ layers: [ImageLayerSource], config settings: Config, annotations: [String: String] = [:], app: String, tag: String,
                       previous: ImageReference? = nil, scratch: URL,
                       log: @escaping @Sendable (String) async -> Void) async throws -> Exported {
        let export = try ExportLayout(scratch: scratch, registry: registry)
        let layout = export.layout, skopeo = export.skopeo
        let pulled = try await export.pullBase(base, what: "the base image", advice: "push it to a registry the workers reach, or name another base")
        let baseDigest = pulled.digest, baseLayers = pulled.layers
        var config = pulled.config

        // The previous image's layers by digest: from its manifest alone (cheap), unless a layer to
        // reuse is not in the layer cache, when the image itself is pulled for that layer's blob.
        var previousLayers: [String: PreviousLayer]?
        var previousDigests: Set<String> = []
        if let previous {
            let cache = blobCache
            let missing = layers.contains { source in source.reuse.map { cache?.lookup(digest: $0) == nil } ?? false }
            if missing {
                previousLayers = await pull(previous, skopeo: skopeo, layout: layout, log: log)
                previousDigests = Set(previousLayers?.keys.map { $0 } ?? [])
            } else if let (data, _) = try? await skopeo.rawManifest(previous), let manifest = try? OCILayout.object(data) {
                previousDigests = Set((manifest["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String })
            } else {
                await log("-----> The previous image \(previous) cannot be read: exporting every layer anew")
            }
        }

        var added: [Exported.Layer] = []
        var descriptors: [[String: Any]] = []
        var history: [[String: Any]] = []
        for (index, source) in layers.enumerated() {
            let descriptor: OCILayout.Descriptor, diffID: String, reused: Bool
            if let digest = source.reuse {
                guard ImageReference.isDigest(digest) else {
                    throw ImageError("the layer '\(source.comment)' is to be reused as '\(digest)', which is not a layer digest: give sha256: and 64 hexadecimal digits")
                }
                guard let previous, previousLayers != nil || !previousDigests.isEmpty else {
                    throw ImageError("the layer '\(source.comment)' is to be reused from the previous image, but "
                                     + (previous.map { "\($0) could not be pulled" } ?? "no previous image was given")
                                     + ": export the layer from its contents")
                }
                if let layer = previousLayers?[digest] {
                    (descriptor, diffID, reused) = (layer.descriptor, layer.diffID, true)
                } else if previousDigests.contains(digest), let cache = blobCache, let hit = cache.lookup(digest: digest),
                          (try? cache.place(hit, into: layout)) != nil {
                    (descriptor, diffID, reused) = (hit.descriptor, hit.diffID, true)
                } else {
                    throw ImageError("the previous image \(previous) has no layer \(digest) to reuse for '\(source.comment)': export the layer from its contents")
                }
            } else {
                let staged = scratch.appendingPathComponent("layer-\(index).tar.gz")
                let cache = blobCache
                let (written, _) = try await onThread { try LayerTar.write(source, staged: staged, into: layout, cache: cache) }
                (descriptor, diffID) = (written.descriptor, written.diffID)
                reused = previousDigests.contains(descriptor.digest)
            }
            added.append(.init(comment: source.comment, digest: descriptor.digest, diffID: diffID, size: descriptor.size, reused: reused))
            descriptors.append(descriptor.json)
            history.append(["created": Self.epoch, "created_by": "kiln: layer at \(source.reuse == nil ? source.path : "(reused)")", "comment": source.comment])
            await log("-----> Layer \(source.comment): \(descriptor.digest.prefix(19)), \(descriptor.size) bytes, \(reused ? "reused" : "new")")
        }

        config["config"] = try Self.runtime(config["config"] as? [String: Any] ?? [:], settings)
        config["created"] = Self.epoch
        var rootfs = config["rootfs"] as? [String: Any] ?? ["type": "layers"]
        let baseDiffIDs = rootfs["diff_ids"] as? [String] ?? []
        guard baseDiffIDs.count == baseLayers.count else {
            throw ImageError("the base image \(base) names \(baseLayers.count) layers but \(baseDiffIDs.count) diff_ids in its config: push a consistent image")
        }
        rootfs["diff_ids"] = baseDiffIDs + added.map(\.diffID)
        config["rootfs"] = rootfs
        config["history"] = (config["history"] as? [[String: Any]] ?? []) + history
        let configData = try OCILayout.encode(config)
        let configDescriptor = try layout.write(configData, mediaType: OCILayout.configType)

        var manifestAnnotations = annotations
        manifestAnnotations["org.opencontainers.image.base.name"] = base
        manifestAnnotations["org.opencontainers.image.base.digest"] = baseDigest
        let manifest: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": OCILayout.manifestType,
            "config": configDescriptor.json,
            "layers": baseLayers + descriptors,
            "annotations": manifestAnnotations,
        ]
        let target = ImageReference(repository: registry.repository(app: app), tag: tag)
        let pushed = try await export.push(manifest, as: target, registry: registry.host)
        let reusedCount = added.filter(\.reused).count
        await log("-----> Image exported as \(pushed) (\(added.count) layers on \(base), \(reusedCount) reused)")
        return Exported(reference: pushed, config: try ImageConfig(json: configData), layers: added, baseDigest: baseDigest)
    }

    /// Pulls `previous` into `layout` as `previous`; its layers by digest, or `nil` (logged) when it cannot be had.
    func pull(_ previous: ImageReference, skopeo: Skopeo, layout: OCILayout,
              log: @escaping @Sendable (String) async -> Void) async -> [String: PreviousLayer]? {
        do {
            try await skopeo.copy(previous.transport, "oci:\(layout.directory.path):previous", preservingDigests: false)
            let (_, manifest) = try layout.manifest(tag: "previous")
            guard let configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String,
                  let layers = manifest["layers"] as? [[String: Any]] else {
                throw ImageError("its manifest names no config or layers")
            }
            let config = try OCILayout.object(Data(contentsOf: layout.blob(configDigest))) // farm-owned: the layout skopeo wrote in the worker's scratch
            let diffIDs = (config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []
            guard diffIDs.count == layers.count else {
                throw ImageError("its manifest names \(layers.count) layers but its config \(diffIDs.count) diff_ids")
            }
            var byDigest: [String: PreviousLayer] = [:]
            for (layer, diffID) in zip(layers, diffIDs) {
                guard let digest = layer["digest"] as? String, let mediaType = layer["mediaType"] as? String else {
                    throw ImageError("a layer of its manifest has no digest or media type")
                }
                let size = (layer["size"] as? NSNumber)?.int64Value ?? 0
                byDigest[digest] = PreviousLayer(descriptor: .init(mediaType: mediaType, digest: digest, size: size), diffID: diffID)
            }
            return byDigest
        } catch {
            await log("-----> The previous image \(previous) cannot be read (\(error)): exporting every layer anew")
            return nil
        }
    }

    /// The base's `config` object with `settings` applied.
    static func runtime(_ base: [String: Any], _ settings: Config) throws -> [String: Any] {
        var runtime = base
        var environment = runtime["Env"] as? [String] ?? []
        for (name, value) in settings.env.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            guard !name.isEmpty, !name.contains("="), !name.contains("\0"), !value.contains("\0") else {
                throw ImageError("'\(name)' cannot be an environment variable of the image: give a name without '=' or NUL")
            }
            let setting = name + "=" + value
            let matches = { (entry: String) in entry == name || entry.hasPrefix(name + "=") }
            if let first = environment.firstIndex(where: matches) {
                environment[first] = setting
                environment = environment.enumerated().filter { $0.offset == first || !matches($0.element) }.map(\.element)
            } else {
                environment.append(setting)
            }
        }
        runtime["Env"] = environment.isEmpty ? nil : environment
        if let entrypoint = settings.entrypoint {
            runtime["Entrypoint"] = entrypoint.isEmpty ? nil : entrypoint
            if settings.cmd == nil { runtime["Cmd"] = nil }
        }
        if let cmd = settings.cmd { runtime["Cmd"] = cmd.isEmpty ? nil : cmd }
        if let workingDir = settings.workingDir { runtime["WorkingDir"] = workingDir }
        if let user = settings.user { runtime["User"] = user }
        if !settings.labels.isEmpty {
            var labels = runtime["Labels"] as? [String: String] ?? [:]
            for (name, value) in settings.labels { labels[name] = value }
            runtime["Labels"] = labels
        }
        return runtime
    }
}
