import Foundation
import KilnConfine
import TOMLKit

/// A layer's `<layer>.toml` as bin/build writes it: its `[types]` (launch,
/// build, cache; each false unless set) and its `[metadata]`, which a
/// later build reads back to decide whether the layer can be reused.
public struct CNBLayerMetadata: Sendable, Equatable {
    /// What the lifecycle does with the layer: in the image, for later buildpacks, kept for the next build.
    public struct Types: Sendable, Equatable {
        public var launch: Bool
        public var build: Bool
        public var cache: Bool
        public init(launch: Bool = false, build: Bool = false, cache: Bool = false) {
            self.launch = launch
            self.build = build
            self.cache = cache
        }
        /// The spec's "ignored layer": a temporary directory for the buildpack that wrote it.
        public var isIgnored: Bool { !launch && !build && !cache }
    }

    public var types: Types
    /// `[metadata]` values; strings as they are, anything else as TOML writes it.
    public var metadata: [String: String]
    /// `[metadata]` as TOML text, so that nested tables survive a round trip to the next build.
    public var metadataTOML: String

    public init(types: Types = Types(), metadata: [String: String] = [:], metadataTOML: String = "") {
        self.types = types
        self.metadata = metadata
        self.metadataTOML = metadataTOML
    }

    /// Layer names the lifecycle keeps for its own files (`launch.toml`, `build.toml`, `store.toml`).
    public static let reservedNames: Set<String> = ["build", "launch", "store"]

    /// Parses `<layer>.toml`; bad TOML, types that are not booleans, and the
    /// pre-0.6 top-level `launch = true` form are refused naming buildpack and layer.
    public static func parse(_ text: String, buildpack: String, layer: String) throws -> CNBLayerMetadata {
        let file = "\(buildpack): \(layer).toml"
        guard !reservedNames.contains(layer) else { throw CNBError("\(buildpack): a layer may not be named \(layer) (build, launch and store are the lifecycle's)") }
        let table = try CNBTOML.table(text, file: file)
        // Buildpack API 0.6 moved the flags into [types]; the lifecycle refuses them at the top level
        // rather than guess, since a 0.9 buildpack writing them means the layer would silently vanish.
        if let flag = ["launch", "build", "cache"].first(where: { table[$0] != nil }) {
            throw CNBError("\(file): \(flag) belongs in the [types] table (Buildpack API 0.6 and later), not at the top level")
        }
        let types = try parseTypes(table["types"], file: file)
        let metadata = table["metadata"]?.table
        if table["metadata"] != nil, metadata == nil { throw CNBError("\(file): metadata must be a table ([metadata])") }
        return CNBLayerMetadata(types: types, metadata: CNBTOML.strings(metadata), metadataTOML: metadata?.convert(to: .toml) ?? "")
    }

    static func parseTypes(_ value: (any TOMLValueConvertible)?, file: String) throws -> Types {
        guard let value else { return Types() }
        guard let table = value.table else { throw CNBError("\(file): types must be a table ([types])") }
        func flag(_ key: String) throws -> Bool {
            guard let entry = table[key] else { return false }
            guard let flag = entry.bool else { throw CNBError("\(file): [types] \(key) must be true or false, not \(entry)") }
            return flag
        }
        return Types(launch: try flag("launch"), build: try flag("build"), cache: try flag("cache"))
    }
}

/// What becomes of one layer after a buildpack's bin/build, from its toml
/// (if any) and whether its directory exists, as buildpack.md's "Layer Types" says.
public enum CNBLayerOutcome: Sendable, Equatable {
    /// Contents for the image, later buildpacks and/or the cache, as the types say.
    case provided(CNBLayerMetadata.Types)
    /// `launch = true` with no directory: the previous image's layer is kept, with the new metadata.
    case reusedFromPreviousImage
    /// All types false, or a directory with no toml (unset types are all false):
    /// renamed `<layer>.ignore` so no later buildpack depends on it.
    case ignored
    /// A toml for build or cache with no directory: nothing to expose or keep.
    case noContents

    public static func of(_ metadata: CNBLayerMetadata?, hasDirectory: Bool) -> CNBLayerOutcome {
        let types = metadata?.types ?? CNBLayerMetadata.Types()
        if types.isIgnored { return .ignored }
        if hasDirectory { return .provided(types) }
        return types.launch ? .reusedFromPreviousImage : .noContents
    }
}

extension CNBLayerMetadata {
    /// A layer's toml as the restorer puts it back before a rebuild
    /// (buildpack.md, "Layer Types"): its metadata, without the `[types]`
    /// table, so a buildpack that does not declare the layer again does not
    /// get it exported or cached on the strength of the last build's
    /// declaration. `nil` for text that is not TOML.
    public static func restorable(_ text: String) -> String? {
        guard let table = try? TOMLTable(string: text) else { return nil }
        table.remove(at: "types")
        return table.convert(to: .toml)
    }

    /// Every layer toml of a restored layers directory (`BUILDPACK/LAYER.toml`)
    /// as ``restorable(_:)`` makes it; read and rewritten beneath the
    /// directory's descriptor, at most 1 MiB a toml.
    public static func dropTypes(inLayers layers: ConfinedDirectory) throws {
        for buildpack in try layers.entries() where buildpack.kind == .directory {
            guard let directory = try layers.directory(buildpack.name, links: .none) else { continue }
            for file in try directory.entries() where file.kind == .regular && file.name.hasSuffix(".toml") && file.name != "store.toml" {
                guard let text = try directory.readText(file.name, cap: CNBBuildpackLayers.maximumTOMLSize, links: .none) else { continue }
                try CNBTOMLWriter.replace(file.name, with: restorable(text) ?? "", in: directory)
            }
        }
    }

    /// Whether the restorer brings a layer of these types back: its toml
    /// and contents when cached; its toml alone for a launch layer that is
    /// neither cached nor a build layer (the buildpack may keep the
    /// previous image's); nothing otherwise.
    public static func restored(_ types: Types) -> (toml: Bool, contents: Bool) {
        if types.cache { return (true, true) }
        if types.launch && !types.build { return (true, false) }
        return (false, false)
    }
}
