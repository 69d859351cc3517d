import Foundation
import TOMLKit

/// The Buildpack APIs Kiln implements; a buildpack declaring another is refused by name.
public enum CNBBuildpackAPI {
    public static let supported = ["0.9", "0.10", "0.11"]
}

/// One entry of a group: a buildpack by id (and version), optional or not.
public struct CNBGroupEntry: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var version: String?
    public var optional: Bool

    public init(id: String, version: String? = nil, optional: Bool = false) {
        self.id = id
        self.version = version
        self.optional = optional
    }

    public var description: String { id + (version.map { "@\($0)" } ?? "") + (optional ? " (optional)" : "") }

    static func parse(_ table: TOMLTable, in file: String) throws -> CNBGroupEntry {
        guard let id = try CNBTOML.string(table, "id", in: file), !id.isEmpty else { throw CNBError("\(file): a group entry has no id") }
        return CNBGroupEntry(id: id, version: try CNBTOML.string(table, "version", in: file), optional: try CNBTOML.bool(table, "optional", in: file))
    }
}

/// An order: groups tried in turn, the first whose buildpacks pass builds
/// the app. A builder's `order.toml`, a composite buildpack's `[[order]]`,
/// or the one group of a project.toml.
public struct CNBOrder: Sendable, Equatable {
    public var groups: [[CNBGroupEntry]]

    public init(groups: [[CNBGroupEntry]]) { self.groups = groups }

    /// `[[order]]` tables each with `[[order.group]]` entries.
    public static func parse(_ text: String, file: String) throws -> CNBOrder {
        try parse(CNBTOML.table(text, file: file), file: file)
    }

    static func parse(_ table: TOMLTable, file: String) throws -> CNBOrder {
        let groups = try CNBTOML.tables(table, "order", in: file).map { order in
            try CNBTOML.tables(order, "group", in: file).map { try CNBGroupEntry.parse($0, in: file) }
        }
        for (index, group) in groups.enumerated() where group.isEmpty {
            throw CNBError("\(file): order \(index + 1) has no [[order.group]] entries")
        }
        return CNBOrder(groups: groups)
    }
}

/// A buildpack's `buildpack.toml`: its API, id and version, and for a
/// composite buildpack its order (a composite has no bin/ of its own).
public struct CNBBuildpackDescriptor: Sendable, Equatable {
    public var api: String
    public var id: String
    public var version: String
    public var name: String?
    /// A composite buildpack's groups; `nil` for a component buildpack.
    public var order: CNBOrder?
    /// Where the buildpack's files are (its bin/detect and bin/build).
    public var directory: URL?

    public init(api: String, id: String, version: String, name: String? = nil, order: CNBOrder? = nil, directory: URL? = nil) {
        self.api = api
        self.id = id
        self.version = version
        self.name = name
        self.order = order
        self.directory = directory
    }

    public var reference: String { "\(id)@\(version)" }

    /// Parses `buildpack.toml`; an API outside ``CNBBuildpackAPI/supported`` is refused by name.
    public static func parse(_ text: String, file: String = "buildpack.toml", directory: URL? = nil) throws -> CNBBuildpackDescriptor {
        let table = try CNBTOML.table(text, file: file)
        guard let api = try CNBTOML.string(table, "api", in: file) else { throw CNBError("\(file) has no api (the Buildpack API it is written to, e.g. api = \"0.10\")") }
        guard let buildpack = table["buildpack"]?.table else { throw CNBError("\(file) has no [buildpack] table") }
        guard let id = try CNBTOML.string(buildpack, "id", in: file), !id.isEmpty else { throw CNBError("\(file): [buildpack] has no id") }
        guard let version = try CNBTOML.string(buildpack, "version", in: file), !version.isEmpty else { throw CNBError("\(file): [buildpack] \(id) has no version") }
        // Both become directory names where a builder keeps buildpacks: no `..`, no control characters.
        for (what, value) in [("id", id), ("version", version)] {
            let allowed = value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/+".contains($0)) }
            guard allowed, !value.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw CNBError("\(file): [buildpack] \(what) \"\(value)\" is not one Kiln accepts: letters, digits, '.', '_', '-', '+' and '/' between names")
            }
        }
        guard CNBBuildpackAPI.supported.contains(api) else {
            throw CNBError("\(id)@\(version) is written to Buildpack API \(api); Kiln implements \(CNBBuildpackAPI.supported.joined(separator: ", "))")
        }
        let order = table["order"] == nil ? nil : try CNBOrder.parse(table, file: file)
        return CNBBuildpackDescriptor(api: api, id: id, version: version, name: try CNBTOML.string(buildpack, "name", in: file), order: order, directory: directory)
    }
}
