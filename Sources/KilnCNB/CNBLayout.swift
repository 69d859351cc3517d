import Foundation
import KilnConfine
import KilnSandbox

/// Where a CNB build's directories are on the worker and inside the
/// sandbox, as the platform spec names them: the app at `/workspace`, the
/// platform directory (`env/` of config vars) at `/platform`, the farm's
/// buildpacks at `/cnb/buildpacks` (a builder's layout: the id with `/`
/// written `_`, then the version), the layers at `/layers`, and the build
/// plans each bin/detect writes at `/kiln/plans`.
public struct CNBLayout: Sendable {
    public var workspace: URL
    public var platform: URL
    public var buildpacks: URL
    public var layers: URL
    public var plans: URL

    public static let workspaceInside = "/workspace"
    public static let platformInside = "/platform"
    public static let buildpacksInside = "/cnb/buildpacks"
    public static let layersInside = "/layers"
    public static let plansInside = "/kiln/plans"

    public init(workspace: URL, platform: URL, buildpacks: URL, layers: URL, plans: URL) {
        self.workspace = workspace
        self.platform = platform
        self.buildpacks = buildpacks
        self.layers = layers
        self.plans = plans
    }

    /// The sandbox's mounts: the build writes the app, its layers and its plans; it only reads the rest.
    /// Buildpacks are mounted one at a time, each where a builder has it
    /// (``CNBScripts``): they come from the farm's directory, from the app
    /// or from a download, and a script sees only its own.
    public var mounts: [SandboxMount] {
        [SandboxMount(host: workspace, inside: Self.workspaceInside, writable: true),
         SandboxMount(host: platform, inside: Self.platformInside, writable: false),
         SandboxMount(host: layers, inside: Self.layersInside, writable: true),
         SandboxMount(host: plans, inside: Self.plansInside, writable: true)]
    }

    /// A buildpack id as a directory name: `paketo-buildpacks/node` is `paketo-buildpacks_node`.
    public static func escaped(_ id: String) -> String { id.replacingOccurrences(of: "/", with: "_") }
}

/// The farm's CNB buildpacks (`--cnb-buildpacks DIR`), laid out as a
/// builder's `/cnb/buildpacks`: `ID_ESCAPED/VERSION/buildpack.toml`. The
/// directory is the operator's; a group entry without a version takes the
/// only version there, and names the versions when there are several.
public struct CNBBuildpackDirectory: Sendable {
    public let directory: URL

    public init(_ directory: URL) { self.directory = directory }

    public func resolve(_ entry: CNBGroupEntry) throws -> CNBBuildpackDescriptor {
        let escaped = CNBLayout.escaped(entry.id)
        guard !escaped.isEmpty, !escaped.hasPrefix("."), !escaped.contains("\0") else { throw CNBError("\(entry.id) is not a buildpack id") }
        let folder = directory.appendingPathComponent(escaped)
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted() // farm-owned: the operator's buildpacks
        let version: String
        if let wanted = entry.version {
            guard versions.contains(wanted) else {
                throw CNBError("the farm has no buildpack \(entry.id)@\(wanted) (\(versions.isEmpty ? "none of that id" : "it has " + versions.joined(separator: ", "))) in \(directory.path)")
            }
            version = wanted
        } else {
            guard versions.count == 1 else {
                throw CNBError(versions.isEmpty ? "the farm has no buildpack \(entry.id) in \(directory.path)"
                                                : "\(entry.id) has several versions in the farm (\(versions.joined(separator: ", "))): name one")
            }
            version = versions[0]
        }
        let root = folder.appendingPathComponent(version)
        guard let text = try? String(contentsOf: root.appendingPathComponent("buildpack.toml"), encoding: .utf8) else { // farm-owned: the operator's buildpacks
            throw CNBError("\(entry.id)@\(version) has no readable buildpack.toml in \(root.path)")
        }
        let descriptor = try CNBBuildpackDescriptor.parse(text, file: "\(entry.id)@\(version)'s buildpack.toml", directory: root)
        guard descriptor.id == entry.id, descriptor.version == version else {
            throw CNBError("\(root.path)/buildpack.toml declares \(descriptor.reference), not \(entry.id)@\(version)")
        }
        return descriptor
    }
}
