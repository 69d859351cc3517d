import Foundation
import Yams

/// What a buildpack's `bin/release` declares: default process types, the
/// add-ons the app needs and default config vars. The process types go into
/// the slug; add-ons and config vars are recorded in its manifest for the
/// release service, which decides what to do with them (Heroku provisions
/// the add-ons and sets config vars that are not yet set).
public struct ReleaseDeclaration: Sendable, Equatable {
    public var processTypes = ProcessTypes()
    public var addons: [String] = []
    public var configVars: [String: String] = [:]

    public init(processTypes: ProcessTypes = ProcessTypes(), addons: [String] = [], configVars: [String: String] = [:]) {
        self.processTypes = processTypes
        self.addons = addons
        self.configVars = configVars
    }

    /// Parses what `bin/release` printed, as YAML (any of it: flow or block
    /// style, quoting, anchors, comments), the way Heroku reads it: a mapping
    /// whose `default_process_types` and `config_vars` are mappings of
    /// scalars and whose `addons` is a list of names; other keys are ignored,
    /// and empty output declares nothing. Malformed YAML, or one of those
    /// keys of another shape, throws an error naming `buildpack` and the line.
    public static func parse(_ yaml: String, buildpack: String) throws -> ReleaseDeclaration {
        let document: Node?
        do {
            document = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw BuildpackError("\(buildpack): bin/release printed malformed YAML\(Self.describe(error))")
        }
        guard let document, !Self.isEmpty(document) else { return ReleaseDeclaration() }
        guard let top = document.mapping else {
            throw BuildpackError("\(buildpack): bin/release printed YAML that is not a mapping (line \(Self.line(of: document)))")
        }
        var declaration = ReleaseDeclaration()
        for (key, value) in top {
            switch key.string {
            case "default_process_types":
                declaration.processTypes = ProcessTypes(try scalars(value, key: "default_process_types", buildpack: buildpack))
            case "config_vars":
                declaration.configVars = try scalars(value, key: "config_vars", buildpack: buildpack)
            case "addons":
                if isEmpty(value) { continue }
                guard let list = value.sequence else {
                    throw BuildpackError("\(buildpack): bin/release's addons, line \(line(of: value)), must be a list of add-on names")
                }
                declaration.addons = try list.map { item in
                    guard let name = item.scalar?.string, !name.isEmpty else {
                        throw BuildpackError("\(buildpack): bin/release's addons, line \(line(of: item)), must be a list of add-on names")
                    }
                    return name
                }
            default:
                continue
            }
        }
        return declaration
    }

    /// A mapping of names to scalars (`web: bin/server`); `{}`, `~` or nothing is empty.
    static func scalars(_ node: Node, key: String, buildpack: String) throws -> [String: String] {
        if isEmpty(node) { return [:] }
        guard let mapping = node.mapping else {
            throw BuildpackError("\(buildpack): bin/release's \(key), line \(line(of: node)), must be a mapping of names to values")
        }
        var values: [String: String] = [:]
        for (name, value) in mapping {
            guard let name = name.scalar?.string, !name.isEmpty else {
                throw BuildpackError("\(buildpack): bin/release's \(key), line \(line(of: value)), has a name that is not text")
            }
            if isEmpty(value) { continue }
            guard let text = value.scalar?.string else {
                throw BuildpackError("\(buildpack): bin/release's \(key).\(name), line \(line(of: value)), must be a single value, not a list or mapping")
            }
            values[name] = text
        }
        return values
    }

    /// A null scalar (`~`, `null`, nothing) or `{}`.
    static func isEmpty(_ node: Node) -> Bool {
        if let scalar = node.scalar { return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) }
        if let mapping = node.mapping { return mapping.count == 0 }
        return false
    }

    static func line(of node: Node) -> Int { node.mark?.line ?? 1 }

    /// ", line N: problem" for what libyaml reports.
    static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return " (line \(mark.line)): \(problem)"
        case let .reader(problem, _, _, _):
            return ": \(problem)"
        default:
            return ""
        }
    }
}
