import Foundation
import KilnConfine

/// What one layer contributes to the environment: where it is, its types,
/// which of bin/, lib/, include/, pkgconfig/ it has, and its env directories.
public struct CNBLayerEnv: Sendable, Equatable {
    public var name: String
    /// The layer's absolute path as the build or the app sees it.
    public var path: String
    public var types: CNBLayerMetadata.Types
    /// Which of bin, lib, include and pkgconfig the layer has.
    public var directories: Set<String>
    public var env: CNBEnvDirectory
    public var envBuild: CNBEnvDirectory
    public var envLaunch: CNBEnvDirectory
    /// `env.launch/<process>/` by process type.
    public var envLaunchProcess: [String: CNBEnvDirectory]

    public init(name: String, path: String, types: CNBLayerMetadata.Types, directories: Set<String> = [],
                env: CNBEnvDirectory = CNBEnvDirectory(), envBuild: CNBEnvDirectory = CNBEnvDirectory(),
                envLaunch: CNBEnvDirectory = CNBEnvDirectory(), envLaunchProcess: [String: CNBEnvDirectory] = [:]) {
        self.name = name
        self.path = path
        self.types = types
        self.directories = directories
        self.env = env
        self.envBuild = envBuild
        self.envLaunch = envLaunch
        self.envLaunchProcess = envLaunchProcess
    }

    /// Reads a layer directory beneath `root` (the layers directory, which
    /// the build wrote), through root's descriptor: env files as
    /// ``CNBEnvDirectory/load(_:root:owner:)`` reads them, and which of
    /// `bin`, `lib`, `include`, `pkgconfig` are real directories of the layer.
    public static func load(_ directory: URL, root: URL, types: CNBLayerMetadata.Types, owner: String) throws -> CNBLayerEnv {
        let layers = try ConfinedDirectory(root, label: "the layers directory")
        let relative = try CNBLayerPath.relative(directory, to: root, owner: owner)
        let name = directory.lastPathComponent
        let label = "\(owner) layer \(name)"
        let present = Set(["bin", "lib", "include", "pkgconfig"].filter { (try? layers.kind(of: "\(relative)/\($0)", links: .none)) == .directory })
        var processes: [String: CNBEnvDirectory] = [:]
        let launch = try CNBLayerPath.confined(label, "env.launch") { try layers.directory("\(relative)/env.launch", links: .none) }
        for entry in try CNBLayerPath.confined(label, "env.launch", { try launch?.entries() ?? [] }) where entry.kind == .directory {
            processes[entry.name] = try CNBEnvDirectory.load("\(relative)/env.launch/\(entry.name)", in: layers, owner: label)
        }
        return CNBLayerEnv(name: name, path: directory.path, types: types, directories: present,
                           env: try CNBEnvDirectory.load("\(relative)/env", in: layers, owner: label),
                           envBuild: try CNBEnvDirectory.load("\(relative)/env.build", in: layers, owner: label),
                           envLaunch: try CNBEnvDirectory.load("\(relative)/env.launch", in: layers, owner: label), envLaunchProcess: processes)
    }

}

/// The environment a layer set makes, as the lifecycle builds it for later
/// buildpacks' bin/build and for the launched process (buildpack.md, "Environment").
public enum CNBEnvironment {
    /// Layer directories put on path variables for later buildpacks.
    public static let buildPaths: [(String, [String])] = [
        ("bin", ["PATH"]), ("lib", ["LD_LIBRARY_PATH", "LIBRARY_PATH"]), ("include", ["CPATH"]), ("pkgconfig", ["PKG_CONFIG_PATH"]),
    ]
    /// Layer directories put on path variables at launch.
    public static let launchPaths: [(String, [String])] = [("bin", ["PATH"]), ("lib", ["LD_LIBRARY_PATH"])]

    /// The environment for a buildpack's bin/build, given the earlier
    /// buildpacks' layers in group order: build layers only, each buildpack's
    /// layers by name, each layer's paths, then `env/`, then `env.build/`.
    public static func build(after buildpacks: [[CNBLayerEnv]], starting: [String: String]) -> [String: String] {
        var env = starting
        for layer in ordered(buildpacks) where layer.types.build {
            addPaths(layer, buildPaths, to: &env)
            layer.env.apply(to: &env)
            layer.envBuild.apply(to: &env)
        }
        return env
    }

    /// The environment of a launched process: launch layers only, each
    /// layer's paths, `env/`, `env.launch/`, then `env.launch/<process>/`.
    public static func launch(_ buildpacks: [[CNBLayerEnv]], process: String?, starting: [String: String]) -> [String: String] {
        var env = starting
        for layer in ordered(buildpacks) where layer.types.launch {
            addPaths(layer, launchPaths, to: &env)
            layer.env.apply(to: &env)
            layer.envLaunch.apply(to: &env)
            if let process { layer.envLaunchProcess[process]?.apply(to: &env) }
        }
        return env
    }

    /// Group order, and within a buildpack its layers by name; prepending in
    /// this order puts later buildpacks' paths first, as the spec asks.
    static func ordered(_ buildpacks: [[CNBLayerEnv]]) -> [CNBLayerEnv] {
        buildpacks.flatMap { $0.sorted { $0.name < $1.name } }
    }

    static func addPaths(_ layer: CNBLayerEnv, _ paths: [(String, [String])], to env: inout [String: String]) {
        for (directory, variables) in paths where layer.directories.contains(directory) {
            for variable in variables {
                let entry = layer.path + "/" + directory
                let existing = env[variable] ?? ""
                env[variable] = existing.isEmpty ? entry : entry + ":" + existing
            }
        }
    }
}
