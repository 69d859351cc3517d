import Foundation
import KilnConfine

/// What the exporter puts in a CNB app image, worked out from what the
/// group's bin/build runs left (platform.md, "Exporter"): a layer per
/// launch layer at `/layers/<buildpack>/<layer>`, the launch file the
/// launcher reads (each process with its final launch environment and the
/// layers' `exec.d` directories), the processes, the image labels the
/// buildpacks declared, and the lifecycle's metadata labels. Value types
/// only: ``KilnImage`` writes and pushes the image.
public struct CNBExportPlan: Sendable, Equatable {
    /// One launch layer of the image.
    public struct Layer: Sendable, Equatable {
        /// The buildpack's id and version, and its directory name under `/layers`.
        public var buildpack: String
        public var buildpackVersion: String
        public var escaped: String
        public var name: String
        /// Where the build left it on the worker, and where the image has it.
        public var host: URL
        public var inside: String
        public var types: CNBLayerMetadata.Types
        /// The layer's `[metadata]`, as TOML text, for the lifecycle metadata label.
        public var metadataTOML: String
        /// `launch = true` without a directory: the previous image's layer is kept.
        public var reused: Bool
    }

    public var layers: [Layer]
    public var processes: [CNBLaunchMetadata.Process]
    public var defaultType: String?
    /// The launch file (`/cnb/kiln-launch`), in the format docs/cnb.md gives.
    public var launchFile: String
    /// The image labels launch.toml files declared, by key (a later buildpack's wins).
    public var labels: [String: String]

    /// Where the launcher and the launch file are in the image.
    public static let launcherInside = "/cnb/lifecycle/launcher"
    public static let launchFileInside = "/cnb/kiln-launch"

    /// Works out the export of `built` (the group's buildpacks in order),
    /// whose layers the worker sees under `layersDirectory`. `baseEnvironment`
    /// is the run image's environment, on which each process's launch
    /// environment is computed. A value the launch file cannot carry (a
    /// newline or NUL in a command, argument or variable) is refused by name.
    public static func make(_ built: [CNBBuilt], layersDirectory: URL, baseEnvironment: [String: String]) throws -> CNBExportPlan {
        var layers: [Layer] = []
        var launchEnv: [[CNBLayerEnv]] = []
        var execd: [String] = [], processExecd: [(String, String)] = []
        let root = try ConfinedDirectory(layersDirectory, label: "the layers directory")
        for result in built {
            let buildpack = result.buildpack, escaped = CNBLayout.escaped(buildpack.id)
            var envs: [CNBLayerEnv] = []
            for layer in result.layers.layers {
                let host = layersDirectory.appendingPathComponent(escaped).appendingPathComponent(layer.name)
                let inside = "\(CNBLayout.layersInside)/\(escaped)/\(layer.name)"
                let metadata = layer.metadata?.metadataTOML ?? ""
                switch layer.outcome {
                case .provided(let types) where types.launch:
                    layers.append(Layer(buildpack: buildpack.id, buildpackVersion: buildpack.version, escaped: escaped, name: layer.name,
                                        host: host, inside: inside, types: types, metadataTOML: metadata, reused: false))
                    var env = try CNBLayerEnv.load(host, root: layersDirectory, types: types, owner: buildpack.reference)
                    env.path = inside
                    envs.append(env)
                    let relative = "\(escaped)/\(layer.name)/exec.d"
                    if (try? root.kind(of: relative, links: .none)) == .directory {
                        execd.append("\(inside)/exec.d")
                        for entry in try root.directory(relative, links: .none)?.entries() ?? [] where entry.kind == .directory {
                            processExecd.append((entry.name, "\(inside)/exec.d/\(entry.name)"))
                        }
                    }
                case .reusedFromPreviousImage:
                    layers.append(Layer(buildpack: buildpack.id, buildpackVersion: buildpack.version, escaped: escaped, name: layer.name,
                                        host: host, inside: inside, types: layer.metadata?.types ?? .init(launch: true),
                                        metadataTOML: metadata, reused: true))
                default:
                    continue
                }
            }
            launchEnv.append(envs)
        }
        let (processes, declaredDefault) = CNBLaunchMetadata.merged(built.compactMap(\.layers.launch))
        // A platform's choice the spec leaves open: with no default declared, `web` starts, as on Heroku.
        let defaultType = declaredDefault ?? (processes.contains { $0.type == "web" } ? "web" : nil)
        var labels: [String: String] = [:]
        for launch in built.compactMap(\.layers.launch) {
            for label in launch.labels { labels[label.key] = label.value }
        }

        var lines = ["kiln-launch 1"]
        func line(_ keyword: String, _ value: String, _ what: @autoclosure () -> String) throws {
            guard !value.contains("\n"), !value.contains("\r"), !value.contains("\0") else {
                throw CNBError("\(what()) holds a newline or NUL byte, which no process argument or variable can carry: remove it from launch.toml or the layer's env files")
            }
            // The launcher's bounds (docs/cnb.md), checked here so that no image is signed that cannot start.
            guard !value.isEmpty else {
                throw CNBError("\(what()) is empty, which Kiln's launch file cannot carry: drop the empty element from launch.toml")
            }
            guard value.utf8.count <= 60_000 else {
                throw CNBError("\(what()) is \(value.utf8.count) bytes, more than the 60,000 the launcher reads in one line: shorten it")
            }
            lines.append("\(keyword) \(value)")
        }
        // The launcher sets only names a shell can use.
        func checkName(_ name: String, _ whose: String) throws {
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw CNBError("\(whose) names a variable \"\(name)\": names are letters, digits and _")
            }
        }
        guard processes.count <= 256 else { throw CNBError("launch.toml declares \(processes.count) processes; the launcher takes at most 256") }
        for process in processes where process.command.count + process.args.count > 1_024 {
            throw CNBError("process \(process.type) has \(process.command.count + process.args.count) command elements and args; the launcher takes at most 1,024")
        }
        guard execd.count + processExecd.count <= 256 else {
            throw CNBError("the launch layers have \(execd.count + processExecd.count) exec.d directories; the launcher takes at most 256")
        }
        for process in processes {
            try line("process", process.type, "process type \(process.type)")
            for element in process.command { try line("command", element, "the command of process \(process.type)") }
            for argument in process.args { try line("arg", argument, "an argument of process \(process.type)") }
            if let directory = process.workingDirectory { try line("directory", directory, "the working-dir of process \(process.type)") }
            let environment = CNBEnvironment.launch(launchEnv, process: process.type, starting: baseEnvironment)
            let changed = environment.keys.filter { environment[$0] != baseEnvironment[$0] }
            guard changed.count <= 1_024 else {
                throw CNBError("the launch environment of process \(process.type) sets \(changed.count) variables; the launcher takes at most 1,024")
            }
            for name in environment.keys.sorted() where environment[name] != baseEnvironment[name] {
                try checkName(name, "the launch environment of process \(process.type)")
                try line("env", "\(process.type) \(name)=\(environment[name] ?? "")", "variable \(name) of process \(process.type)")
            }
        }
        // The environment of a user-provided command (`launcher [--] CMD`): the launch layers', no process's own.
        let commandEnvironment = CNBEnvironment.launch(launchEnv, process: nil, starting: baseEnvironment)
        for name in commandEnvironment.keys.sorted() where commandEnvironment[name] != baseEnvironment[name] {
            try checkName(name, "the launch environment")
            try line("command-env", "\(name)=\(commandEnvironment[name] ?? "")", "variable \(name) of the launch environment")
        }
        if let defaultType { lines.append("default \(defaultType)") }
        for directory in execd { try line("execd", directory, "the exec.d directory \(directory)") }
        for (type, directory) in processExecd where processes.contains(where: { $0.type == type }) {
            try line("process-execd", "\(type) \(directory)", "the exec.d directory \(directory)")
        }
        return CNBExportPlan(layers: layers, processes: processes, defaultType: defaultType,
                             launchFile: lines.joined(separator: "\n") + "\n", labels: labels)
    }

    /// How each process starts, for the signed manifest's process types:
    /// the command's elements and default args, shell-quoted and joined.
    public var processTypes: [String: String] {
        var types: [String: String] = [:]
        for process in processes {
            types[process.type] = (process.command + process.args).map(Self.shellQuoted).joined(separator: " ")
        }
        return types
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:@%+,".contains($0)) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// `io.buildpacks.build.metadata`: the processes, the buildpacks of the
    /// group and the launcher, as JSON with sorted keys.
    public func buildMetadataLabel(group: [CNBBuildpackDescriptor]) -> String {
        let processes: [[String: Any]] = self.processes.map { process in
            var entry: [String: Any] = ["type": process.type, "command": process.command, "args": process.args,
                                        "default": process.type == defaultType, "buildpackID": ""]
            if let directory = process.workingDirectory { entry["working-dir"] = directory }
            return entry
        }
        let value: [String: Any] = [
            "processes": processes,
            "buildpacks": group.map { ["id": $0.id, "version": $0.version] },
            "launcher": ["version": "kiln-launch 1"],
        ]
        return Self.json(value)
    }

    /// `io.buildpacks.lifecycle.metadata`: each buildpack of the group with
    /// its launch layers, their types and metadata, in the order the image
    /// has them (the manifest gives their digests; the worker keeps each
    /// layer's digest by name for the next export to reuse).
    public func lifecycleMetadataLabel(group: [CNBBuildpackDescriptor]) -> String {
        let buildpacks: [[String: Any]] = group.map { buildpack in
            var layerTable: [String: Any] = [:]
            for layer in layers where layer.buildpack == buildpack.id {
                layerTable[layer.name] = ["launch": layer.types.launch, "build": layer.types.build, "cache": layer.types.cache,
                                          "data": layer.metadataTOML, "reused": layer.reused]
            }
            return ["key": buildpack.id, "version": buildpack.version, "layers": layerTable]
        }
        return Self.json(["buildpacks": buildpacks, "layers": layers.map { "\($0.escaped)/\($0.name)" } + ["app", "launcher"]])
    }

    static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
