import Foundation
import Yams

/// PaaSTech's `paastech/buildpacks.yaml`: a CNB build asked for by builder
/// (one the farm knows) or by buildpack id, with the directory of the app
/// that holds the code and the build's environment.
///
/// ```yaml
/// buildpacks:
///   path: "."
///   builder: "paketobuildpacks/builder:full"
///   buildpack: "paketo-buildpacks/web-servers"
///   env:
///     - "BP_WEB_SERVER=nginx"
/// ```
public struct CNBPaaSTechConfig: Sendable, Equatable {
    /// The directory within the app holding the code, normalized (`.` for the app's root).
    public var path: String
    public var builder: String?
    /// A buildpack id, or `id@version`.
    public var buildpack: String?
    public var env: [CNBProject.EnvVar]

    public init(path: String = ".", builder: String? = nil, buildpack: String? = nil, env: [CNBProject.EnvVar] = []) {
        self.path = path
        self.builder = builder
        self.buildpack = buildpack
        self.env = env
    }

    /// ``buildpack`` as the entry ``CNBDetector`` resolves.
    public var buildpackEntry: CNBGroupEntry? {
        guard let buildpack else { return nil }
        let (id, version) = CNBBuildpackName.split(buildpack)
        return CNBGroupEntry(id: id, version: version)
    }

    /// Bounds on what an app's file may make Kiln read or hold.
    public static let maxBytes = 1 << 20
    public static let maxEnv = 1024

    /// Parses the file's text (the caller reads it capped; the length is
    /// checked again here). Refused by name, with the line where YAML
    /// gives one: not YAML, no top-level `buildpacks` mapping, a key of
    /// the wrong type, a bad env item, neither builder nor buildpack.
    public static func parse(_ text: String, file: String = "paastech/buildpacks.yaml") throws -> CNBPaaSTechConfig {
        let size = text.utf8.count
        guard size <= maxBytes else { throw CNBError("\(file) is \(size) bytes; Kiln reads at most 1 MiB of it: keep only the build's settings in it") }
        let document: Node?
        do {
            document = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw CNBError("\(file) is not valid YAML\(YAMLNodes.describe(error))")
        } catch {
            throw CNBError("\(file) is not valid YAML: \(error)")
        }
        let noMapping = "\(file) has no top-level buildpacks mapping: write buildpacks: with builder: or buildpack: (and path:, env:) beneath it"
        guard let top = document?.mapping else { throw CNBError(noMapping) }
        guard let section = YAMLNodes.keys(top)["buildpacks"] else { throw CNBError(noMapping) }
        guard let settings = section.mapping else {
            throw CNBError("\(file): buildpacks must be a mapping (of path, builder, buildpack, env), not \(YAMLNodes.found(section))\(YAMLNodes.at(section))")
        }
        let keys = YAMLNodes.keys(settings)
        let yaml = YAMLNodes(file: file)
        var config = CNBPaaSTechConfig()
        if let node = keys["path"], let path = try yaml.text(node, key: "path", expecting: "a directory of the app, such as \".\" or \"web\"") {
            config.path = path.isEmpty ? "." : try CNBRelativePath.normalize(path, what: "\(file): buildpacks.path \(CNBTOMLWriter.quoted(path))\(YAMLNodes.at(node))",
                                                                             advice: "give the directory of the code relative to the app's root (\".\" for the root)")
        }
        if let node = keys["builder"], let builder = try yaml.text(node, key: "builder", expecting: "a builder's name, such as \"paketobuildpacks/builder:full\"") {
            guard !builder.isEmpty, !builder.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw CNBError("\(file): buildpacks.builder\(YAMLNodes.at(node)) must name a builder the farm knows, such as \"paketobuildpacks/builder:full\"")
            }
            config.builder = builder
        }
        if let node = keys["buildpack"], let buildpack = try yaml.text(node, key: "buildpack", expecting: "a buildpack id, such as \"paketo-buildpacks/nodejs\" or \"paketo-buildpacks/nodejs@1.2.3\"") {
            let (id, version) = CNBBuildpackName.split(buildpack)
            try CNBBuildpackName.check(id: id, version: version, in: "\(file): buildpacks.buildpack\(YAMLNodes.at(node))")
            config.buildpack = buildpack
        }
        if let node = keys["env"] { config.env = try yaml.env(node) }
        guard config.builder != nil || config.buildpack != nil else {
            throw CNBError("\(file) names neither a builder nor a buildpack: give buildpacks.builder (a builder the farm knows) or buildpacks.buildpack (a buildpack id, optionally id@version)")
        }
        return config
    }
}

/// The YAML of one buildpacks.yaml: nodes as Yams composes them (scalars
/// keep their text as written: `PORT: 8080` is "8080"), with the file, the
/// key and the line in every refusal.
private struct YAMLNodes {
    let file: String

    /// A mapping's text keys (Yams has refused a key given twice already).
    static func keys(_ mapping: Node.Mapping) -> [String: Node] {
        var keys: [String: Node] = [:]
        for (key, value) in mapping {
            if let name = key.scalar?.string, keys[name] == nil { keys[name] = value }
        }
        return keys
    }

    /// A string setting; null (`~`, nothing) is absent; a list, a mapping, a number or a boolean is refused.
    func text(_ node: Node, key: String, expecting: String) throws -> String? {
        if Self.isNull(node) { return nil }
        guard let scalar = node.scalar, node.tag.rawValue == Tag.Name.str.rawValue else {
            throw CNBError("\(file): buildpacks.\(key) must be \(expecting), not \(Self.found(node))\(Self.at(node))" + (node.scalar == nil ? "" : ": quote it if it is meant as text"))
        }
        return scalar.string
    }

    func env(_ node: Node) throws -> [CNBProject.EnvVar] {
        if Self.isNull(node) { return [] }
        var variables: [CNBProject.EnvVar] = []
        if let list = node.sequence {
            guard list.count <= CNBPaaSTechConfig.maxEnv else { throw tooMany(list.count) }
            for (index, item) in list.enumerated() {
                let what = "buildpacks.env item \(index + 1)\(Self.at(item))"
                guard let text = item.scalar?.string else {
                    throw CNBError("\(file): \(what) must be a \"NAME=VALUE\" string, not \(Self.found(item))")
                }
                guard let equals = text.firstIndex(of: "=") else {
                    throw CNBError("\(file): \(what), \(CNBTOMLWriter.quoted(text)), has no '=': write NAME=VALUE")
                }
                variables.append(try variable(String(text[..<equals]), String(text[text.index(after: equals)...]), what: what))
            }
        } else if let mapping = node.mapping {
            guard mapping.count <= CNBPaaSTechConfig.maxEnv else { throw tooMany(mapping.count) }
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw CNBError("\(file): buildpacks.env has a name that is not text\(Self.at(key)): write NAME: value") }
                let what = "buildpacks.env.\(name)\(Self.at(key))"
                if Self.isNull(value) { variables.append(try variable(name, "", what: what)); continue }
                guard let text = value.scalar?.string else {
                    throw CNBError("\(file): \(what) must be a single value, not \(Self.found(value))")
                }
                variables.append(try variable(name, text, what: what))
            }
        } else {
            throw CNBError("\(file): buildpacks.env must be a list of \"NAME=VALUE\" strings or a mapping of NAME: value, not \(Self.found(node))\(Self.at(node))")
        }
        return variables
    }

    func variable(_ name: String, _ value: String, what: String) throws -> CNBProject.EnvVar {
        guard CNBProject.EnvVar.isValidName(name) else {
            throw CNBError("\(file): \(what): \(CNBTOMLWriter.quoted(name)) is not an environment variable name: use letters, digits and underscores, not starting with a digit")
        }
        if value.unicodeScalars.contains("\0") { throw CNBError("\(file): \(what): the value of \(name) contains a NUL byte, which no environment variable can hold") }
        return CNBProject.EnvVar(name: name, value: value)
    }

    func tooMany(_ count: Int) -> CNBError {
        CNBError("\(file): buildpacks.env has \(count) entries; Kiln takes at most \(CNBPaaSTechConfig.maxEnv) build environment variables")
    }

    static func isNull(_ node: Node) -> Bool { node.scalar != nil && node.tag.rawValue == Tag.Name.null.rawValue }

    /// What was found instead, for a refusal: its kind, and a scalar's text.
    static func found(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return "nothing (null)"
            case Tag.Name.bool.rawValue: return "\(scalar.string) (a boolean)"
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return "\(scalar.string) (a number)"
            default: return CNBTOMLWriter.quoted(scalar.string)
            }
        }
    }

    /// " (line N)" where Yams knows the node's line.
    static func at(_ node: Node) -> String { node.mark.map { " (line \($0.line))" } ?? "" }

    /// " (line N): problem" for what libyaml reports.
    static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return " (line \(mark.line)): \(problem)"
        case let .reader(problem, _, _, _):
            return ": \(problem)"
        case let .duplicatedKeysInMapping(duplicates, context):
            // YAML keys are unique; which of two would win is a guess, so neither does.
            return " (line \(context.mark.line)): \(duplicates.joined(separator: ", ")) given twice in one mapping: keep one"
        default:
            return ": \(error)"
        }
    }
}
