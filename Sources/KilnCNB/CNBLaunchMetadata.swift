import Foundation
import TOMLKit

/// A buildpack's `launch.toml`: the processes it offers the app, image
/// labels, and slices of the app directory exported as layers of their own.
public struct CNBLaunchMetadata: Sendable, Equatable {
    /// One `[[processes]]` entry.
    public struct Process: Sendable, Equatable {
        public var type: String
        public var command: [String]
        public var args: [String]
        public var isDefault: Bool
        public var workingDirectory: String?
        public init(type: String, command: [String], args: [String] = [], isDefault: Bool = false, workingDirectory: String? = nil) {
            self.type = type
            self.command = command
            self.args = args
            self.isDefault = isDefault
            self.workingDirectory = workingDirectory
        }
    }

    /// One `[[labels]]` entry, set as an image label.
    public struct Label: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var processes: [Process]
    public var labels: [Label]
    /// Each `[[slices]]` entry's path globs, in order: a file goes to the first slice that matches it.
    public var slices: [[String]]

    public init(processes: [Process] = [], labels: [Label] = [], slices: [[String]] = []) {
        self.processes = processes
        self.labels = labels
        self.slices = slices
    }

    /// Parses `launch.toml` of `buildpack` (Buildpack API 0.9 and later, so a command is an array).
    public static func parse(_ text: String, buildpack: String) throws -> CNBLaunchMetadata {
        let file = "\(buildpack): launch.toml"
        let table = try CNBTOML.table(text, file: file)
        let processes = try CNBTOML.tables(table, "processes", in: file).map { try process($0, file: file) }
        let labels = try CNBTOML.tables(table, "labels", in: file).map { try label($0, file: file) }
        let slices = try CNBTOML.tables(table, "slices", in: file).map { try slicePaths($0, file: file) }
        try check(processes, labels, file: file)
        return CNBLaunchMetadata(processes: processes, labels: labels, slices: slices)
    }

    static func process(_ table: TOMLTable, file: String) throws -> Process {
        guard let type = try CNBTOML.string(table, "type", in: file), !type.isEmpty else { throw CNBError("\(file): a [[processes]] has no type") }
        guard type.unicodeScalars.allSatisfy(isProcessTypeCharacter), type != ".", type != ".." else {
            throw CNBError("\(file): process type \"\(type)\" may hold only letters, digits, '.', '-' and '_', and is not . or ..")
        }
        if table["command"]?.string != nil {
            throw CNBError("\(file): process \(type): command must be an array of strings (Buildpack API 0.9 and later), not a string")
        }
        let command = try strings(table, "command", in: "\(file): process \(type)")
        guard !command.isEmpty else { throw CNBError("\(file): process \(type) has no command") }
        return Process(type: type, command: command, args: try strings(table, "args", in: "\(file): process \(type)"),
                       isDefault: try CNBTOML.bool(table, "default", in: file),
                       workingDirectory: try CNBTOML.string(table, "working-dir", in: file))
    }

    static func isProcessTypeCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || ".-_".unicodeScalars.contains(scalar))
    }

    static func label(_ table: TOMLTable, file: String) throws -> Label {
        guard let key = try CNBTOML.string(table, "key", in: file), !key.isEmpty else { throw CNBError("\(file): a [[labels]] has no key") }
        guard let value = try CNBTOML.string(table, "value", in: file) else { throw CNBError("\(file): label \(key) has no value") }
        return Label(key: key, value: value)
    }

    /// Slice globs must stay in the app directory; a relative one climbing out with `..` is refused.
    static func slicePaths(_ table: TOMLTable, file: String) throws -> [String] {
        let paths = try strings(table, "paths", in: "\(file): [[slices]]")
        for path in paths where !path.hasPrefix("/") {
            var depth = 0
            for part in path.split(separator: "/") {
                depth += part == ".." ? -1 : (part == "." ? 0 : 1)
                if depth < 0 { throw CNBError("\(file): slice path \(path) leaves the app directory") }
            }
        }
        return paths
    }

    /// The spec allows one process of a type, one default and one label of a key per buildpack.
    static func check(_ processes: [Process], _ labels: [Label], file: String) throws {
        if let type = duplicate(processes.map(\.type)) { throw CNBError("\(file): process type \(type) is given twice") }
        if let key = duplicate(labels.map(\.key)) { throw CNBError("\(file): label \(key) is given twice") }
        let defaults = processes.filter(\.isDefault).map(\.type)
        if defaults.count > 1 { throw CNBError("\(file): only one process may be default = true, not \(defaults.joined(separator: " and "))") }
    }

    static func duplicate(_ names: [String]) -> String? {
        var seen: Set<String> = []
        return names.first { !seen.insert($0).inserted }
    }

    static func strings(_ table: TOMLTable, _ key: String, in label: String) throws -> [String] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw CNBError("\(label): \(key) must be an array of strings") }
        return try array.map { item in
            guard let text = item.string else { throw CNBError("\(label): \(key) must be an array of strings") }
            return text
        }
    }

    /// The app's processes from every buildpack's launch.toml in build order:
    /// a later definition of a type replaces an earlier one, and the default is
    /// the last `default = true` still standing (none if it was replaced).
    public static func merged(_ all: [CNBLaunchMetadata]) -> (processes: [Process], defaultType: String?) {
        var processes: [Process] = []
        var defaultType: String?
        for process in all.flatMap(\.processes) {
            processes.removeAll { $0.type == process.type }
            processes.append(process)
            if process.isDefault { defaultType = process.type } else if defaultType == process.type { defaultType = nil }
        }
        return (processes, defaultType)
    }
}

/// A buildpack's `build.toml`: the Buildpack Plan entries it did not meet,
/// passed on to the next buildpack that provided them.
public struct CNBBuildMetadata: Sendable, Equatable {
    public var unmet: [String]
    public init(unmet: [String] = []) { self.unmet = unmet }

    /// Parses `build.toml`; an unmet name that was not in the buildpack's plan is refused by name.
    public static func parse(_ text: String, buildpack: String, plan: [String]) throws -> CNBBuildMetadata {
        let file = "\(buildpack): build.toml"
        let unmet = try CNBTOML.tables(CNBTOML.table(text, file: file), "unmet", in: file).map { entry in
            guard let name = try CNBTOML.string(entry, "name", in: file), !name.isEmpty else { throw CNBError("\(file): an [[unmet]] has no name") }
            guard plan.contains(name) else { throw CNBError("\(file): unmet \(name) is not in the buildpack's plan (\(plan.joined(separator: ", ")))") }
            return name
        }
        return CNBBuildMetadata(unmet: unmet)
    }
}

/// A buildpack's `store.toml`: `[metadata]` kept from one build to the next.
public struct CNBStoreMetadata: Sendable, Equatable {
    public var metadata: [String: String]
    /// `[metadata]` as TOML text, nested tables and all, restored unchanged for the next build.
    public var metadataTOML: String
    public init(metadata: [String: String] = [:], metadataTOML: String = "") {
        self.metadata = metadata
        self.metadataTOML = metadataTOML
    }

    public static func parse(_ text: String, buildpack: String) throws -> CNBStoreMetadata {
        let file = "\(buildpack): store.toml"
        let table = try CNBTOML.table(text, file: file)
        let metadata = table["metadata"]?.table
        if table["metadata"] != nil, metadata == nil { throw CNBError("\(file): metadata must be a table ([metadata])") }
        return CNBStoreMetadata(metadata: CNBTOML.strings(metadata), metadataTOML: metadata?.convert(to: .toml) ?? "")
    }
}
