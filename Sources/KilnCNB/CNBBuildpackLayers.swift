import Foundation
import KilnConfine

/// One buildpack's layers directory as its bin/build left it (buildpack.md,
/// "Layers"): every `<layer>.toml` paired with its `<layer>/` directory
/// and what becomes of it (``CNBLayerOutcome``), plus the buildpack's own
/// `launch.toml`, `build.toml` and `store.toml` when it wrote them. Read
/// beneath the layers directory's descriptor, as every path a build wrote.
public struct CNBBuildpackLayers: Sendable, Equatable {
    /// A layer by name, with its metadata (`nil`: a directory without a toml).
    public struct Layer: Sendable, Equatable {
        public var name: String
        public var metadata: CNBLayerMetadata?
        public var outcome: CNBLayerOutcome
    }

    public var layers: [Layer]
    public var launch: CNBLaunchMetadata?
    public var build: CNBBuildMetadata?
    public var store: CNBStoreMetadata?

    /// The most layers one buildpack may leave, and the largest toml of one.
    public static let maximumLayers = 256
    public static let maximumTOMLSize = 1 << 20

    /// Reads `buildpack`'s directory `relative` under the layers directory
    /// `layers` (e.g. `heroku_nodejs`). A toml that cannot be read, a
    /// reserved layer name, too many layers or a link where a layer's toml
    /// or directory should be are refused, naming the buildpack and layer.
    /// `plan` is the names of the buildpack's plan, for build.toml's unmet entries.
    public static func read(_ relative: String, in layers: ConfinedDirectory, buildpack: String, plan: [String]) throws -> CNBBuildpackLayers {
        guard let directory = try CNBLayerPath.confined(buildpack, relative, { try layers.directory(relative, links: .none) }) else {
            return CNBBuildpackLayers(layers: [])
        }
        let entries = try CNBLayerPath.confined(buildpack, relative) { try directory.entries() }
        var tomls: [String: String] = [:], directories: Set<String> = []
        var launch: CNBLaunchMetadata?, build: CNBBuildMetadata?, store: CNBStoreMetadata?
        for entry in entries {
            switch entry.kind {
            case .directory:
                directories.insert(entry.name)
            case .regular where entry.name.hasSuffix(".toml"):
                let text = try CNBLayerPath.confined(buildpack, entry.name) { try directory.readText(entry.name, cap: maximumTOMLSize, links: .none) } ?? ""
                switch entry.name {
                case "launch.toml": launch = try CNBLaunchMetadata.parse(text, buildpack: buildpack)
                case "build.toml": build = try CNBBuildMetadata.parse(text, buildpack: buildpack, plan: plan)
                case "store.toml": store = try CNBStoreMetadata.parse(text, buildpack: buildpack)
                default: tomls[String(entry.name.dropLast(".toml".count))] = text
                }
            case .symlink:
                // A link as a layer would hand the exporter (root) a path anywhere.
                throw CNBError("\(buildpack): \(entry.name) in its layers is a symbolic link: a layer and its toml must be real")
            default:
                continue
            }
        }
        let names = Set(tomls.keys).union(directories).filter { !$0.hasSuffix(".ignore") }
        guard names.count <= maximumLayers else { throw CNBError("\(buildpack) left \(names.count) layers; at most \(maximumLayers)") }
        let found = try names.sorted().map { name in
            let metadata = try tomls[name].map { try CNBLayerMetadata.parse($0, buildpack: buildpack, layer: name) }
            return Layer(name: name, metadata: metadata, outcome: CNBLayerOutcome.of(metadata, hasDirectory: directories.contains(name)))
        }
        return CNBBuildpackLayers(layers: found, launch: launch, build: build, store: store)
    }
}
