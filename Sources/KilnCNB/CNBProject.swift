import Foundation
import TOMLKit

/// An app's `project.toml`, the project descriptor (buildpacks/spec,
/// extensions/project-descriptor.md), as far as it asks for a Cloud
/// Native Buildpacks build: the buildpacks, in order, the build's
/// environment, and which files the build sees. Schema 0.2 (`[_]
/// schema-version = "0.2"`, `[io.buildpacks]`) and the older 0.1
/// (`[project]`, `[build]`) are read; apps carry project.toml for other
/// tools too, so one that names no buildpacks is valid and asks for no
/// CNB build (``wantsCNB`` is false).
public struct CNBProject: Sendable, Equatable {
    /// One buildpack the app asks for: by id (and version) or by uri.
    public struct Buildpack: Sendable, Equatable {
        public var id: String?
        public var version: String?
        public var uri: String?

        public init(id: String? = nil, version: String? = nil, uri: String? = nil) {
            self.id = id
            self.version = version
            self.uri = uri
        }

        /// Where the buildpack comes from; a uri Kiln cannot or will not
        /// fetch from (outside the app, an unknown scheme) is refused by name.
        /// ``CNBProject/parse(_:file:)`` has already checked this for every entry.
        public var source: CNBBuildpackSource {
            get throws { try CNBBuildpackSource.resolve(id: id, version: version, uri: uri) }
        }

        /// The entry ``CNBDetector`` resolves, for a buildpack from the farm
        /// (by id, or a `urn:cnb:` uri); `nil` for one that must be fetched
        /// first, whose id its own buildpack.toml gives.
        public var groupEntry: CNBGroupEntry? {
            guard case let .farm(id, version)? = try? source else { return nil }
            return CNBGroupEntry(id: id, version: version)
        }
    }

    /// One build-time environment variable the app sets.
    public struct EnvVar: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        /// A POSIX shell name: letters, digits and `_`, not starting with a digit
        /// (what every shell and buildpack can read back).
        public static func isValidName(_ name: String) -> Bool {
            guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
            return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
        }
    }

    /// The schema the file is written to (`"0.1"`, `"0.2"`); `nil` when it has no CNB tables at all.
    public var schemaVersion: String?
    /// The builder the app names (a builder image); the farm decides what it maps to.
    public var builder: String?
    public var buildpacks: [Buildpack]
    public var env: [EnvVar]
    /// gitignore patterns: the only files the build sees, or the files it does not (never both).
    public var include: [String]
    public var exclude: [String]

    public init(schemaVersion: String? = nil, builder: String? = nil, buildpacks: [Buildpack] = [], env: [EnvVar] = [],
                include: [String] = [], exclude: [String] = []) {
        self.schemaVersion = schemaVersion
        self.builder = builder
        self.buildpacks = buildpacks
        self.env = env
        self.include = include
        self.exclude = exclude
    }

    /// Whether the file asks for a CNB build: it names buildpacks. A file
    /// with only env, include or a builder leaves the choice of build to the farm.
    public var wantsCNB: Bool { !buildpacks.isEmpty }

    /// The schema versions Kiln reads.
    public static let schemaVersions = ["0.1", "0.2"]
    /// Bounds on what an app's file may make Kiln hold or try.
    public static let maxBuildpacks = 64
    public static let maxEnv = 1024
    public static let maxPatterns = 1024
    public static let maxBytes = 1 << 20

    /// Parses `project.toml`. Which schema: `[_] schema-version`; without
    /// it, 0.1 when `[build]` exists. Refused by name (the file, the entry,
    /// the line for TOML syntax): what Kiln cannot read or would read
    /// differently from the spec and `pack`.
    public static func parse(_ text: String, file: String = "project.toml") throws -> CNBProject {
        let size = text.utf8.count
        guard size <= maxBytes else { throw CNBError("\(file) is \(size) bytes; Kiln reads a project descriptor of at most 1 MiB: keep only the build's settings in it") }
        let reader = ProjectReader(file: file)
        let root = try CNBTOML.table(text, file: file)
        let meta = try reader.table(root, "_", named: "[_]")
        let io = try reader.table(root, "io", named: "[io]")
        let cnb = try io.flatMap { try reader.table($0, "buildpacks", named: "[io.buildpacks]") }
        let build = try reader.table(root, "build", named: "[build]")

        let declared = try meta.flatMap { try reader.string($0, "schema-version", in: "[_]") }
        let version: String
        if let declared {
            guard schemaVersions.contains(declared) else {
                throw CNBError("\(file): schema-version \(CNBTOMLWriter.quoted(declared)) is not one Kiln reads (it reads \(schemaVersions.joined(separator: " and "))): write schema-version = \"0.2\"")
            }
            version = declared
        } else if cnb != nil {
            // pack would read such a file as 0.1 and silently drop [io.buildpacks]; Kiln says so instead.
            throw CNBError("\(file) has [io.buildpacks] but no schema-version: add [_] with schema-version = \"0.2\"")
        } else if build != nil {
            version = "0.1"
        } else {
            return CNBProject()
        }

        if version == "0.1" {
            if cnb != nil {
                throw CNBError("\(file) declares schema-version 0.1, which has no [io.buildpacks]: set schema-version = \"0.2\", or move the buildpacks to [[build.buildpacks]]")
            }
            guard let build else { return CNBProject(schemaVersion: version) }
            return try reader.project(version: version,
                                      group: build["buildpacks"].map { ($0, "build.buildpacks") },
                                      env: build["env"].map { ($0, "build.env") },
                                      include: build["include"].map { ($0, "build.include") },
                                      exclude: build["exclude"].map { ($0, "build.exclude") },
                                      builder: build["builder"].map { ($0, "build.builder") })
        }

        guard let cnb else { return CNBProject(schemaVersion: version) }
        for stage in ["pre", "post"] where cnb[stage] != nil {
            throw CNBError("\(file): Kiln does not run [[io.buildpacks.\(stage).group]]: list those buildpacks in [[io.buildpacks.group]], in the order they should run")
        }
        let inner = try reader.table(cnb, "build", named: "[io.buildpacks.build]")
        let oldEnv = try reader.table(cnb, "env", named: "[io.buildpacks.env]")
        // pack reads io.buildpacks.group (and the env under io.buildpacks.build); the spec's text
        // puts the buildpacks, include and exclude under io.buildpacks.build. Either is read, not both.
        return try reader.project(version: version,
                                  group: reader.one((cnb, "group", "io.buildpacks.group"), (inner, "buildpacks", "io.buildpacks.build.buildpacks")),
                                  env: reader.one((inner, "env", "io.buildpacks.build.env"), (oldEnv, "build", "io.buildpacks.env.build")),
                                  include: reader.one((cnb, "include", "io.buildpacks.include"), (inner, "include", "io.buildpacks.build.include")),
                                  exclude: reader.one((cnb, "exclude", "io.buildpacks.exclude"), (inner, "exclude", "io.buildpacks.build.exclude")),
                                  builder: reader.one((cnb, "builder", "io.buildpacks.builder"), (inner, "builder", "io.buildpacks.build.builder")))
    }
}

/// The TOML of one project.toml, read with every refusal naming the file
/// and the table or entry.
private struct ProjectReader {
    let file: String
    typealias Found = (value: any TOMLValueConvertible, name: String)

    /// What a value is, for a refusal ("an integer", "an array").
    static func kind(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .array: return "an array"
        default: return "a \(value.type)"
        }
    }

    func table(_ parent: TOMLTable, _ key: String, named name: String) throws -> TOMLTable? {
        guard let value = parent[key] else { return nil }
        guard let table = value.table else { throw CNBError("\(file): \(name) must be a table, not \(Self.kind(value))") }
        return table
    }

    func string(_ table: TOMLTable, _ key: String, in context: String) throws -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw CNBError("\(file): \(context): \(key) must be a string, not \(Self.kind(value)): quote it (\(key) = \"…\")") }
        return text
    }

    /// The one of two places a setting may be given, refusing both.
    func one(_ first: (TOMLTable?, String, String), _ second: (TOMLTable?, String, String)) throws -> Found? {
        let a = first.0?[first.1], b = second.0?[second.1]
        if a != nil, b != nil { throw CNBError("\(file) gives both \(first.2) and \(second.2): keep one") }
        if let a { return (a, first.2) }
        if let b { return (b, second.2) }
        return nil
    }

    func tables(_ found: Found, max: Int, what: String) throws -> [TOMLTable] {
        guard let array = found.value.array else { throw CNBError("\(file): \(found.name) must be an array of tables ([[\(found.name)]]), not \(Self.kind(found.value))") }
        guard array.count <= max else { throw CNBError("\(file): [[\(found.name)]] has \(array.count) entries; Kiln takes at most \(max) \(what)") }
        return try array.enumerated().map { index, item in
            guard let table = item.table else { throw CNBError("\(file): [[\(found.name)]] entry \(index + 1) must be a table, not \(Self.kind(item))") }
            return table
        }
    }

    func strings(_ found: Found) throws -> [String] {
        guard let array = found.value.array else { throw CNBError("\(file): \(found.name) must be an array of strings (gitignore patterns), not \(Self.kind(found.value))") }
        guard array.count <= CNBProject.maxPatterns else { throw CNBError("\(file): \(found.name) has \(array.count) patterns; Kiln takes at most \(CNBProject.maxPatterns)") }
        return try array.enumerated().map { index, item in
            guard let text = item.string else { throw CNBError("\(file): \(found.name) item \(index + 1) must be a string (a gitignore pattern), not \(Self.kind(item))") }
            if text.unicodeScalars.contains("\0") { throw CNBError("\(file): \(found.name) item \(index + 1) contains a NUL byte: write the pattern as plain text") }
            return text
        }
    }

    func project(version: String, group: Found?, env: Found?, include: Found?, exclude: Found?, builder: Found?) throws -> CNBProject {
        if include != nil, exclude != nil {
            throw CNBError("\(file) gives both \(include!.name) and \(exclude!.name), which the spec forbids: keep include (the only files the build sees) or exclude (the files it does not)")
        }
        var project = CNBProject(schemaVersion: version)
        if let group {
            project.buildpacks = try tables(group, max: CNBProject.maxBuildpacks, what: "buildpacks").enumerated().map { index, table in
                try buildpack(table, context: "[[\(group.name)]] entry \(index + 1)")
            }
        }
        if let env {
            project.env = try tables(env, max: CNBProject.maxEnv, what: "build environment variables").enumerated().map { index, table in
                try variable(table, context: "[[\(env.name)]] entry \(index + 1)")
            }
        }
        if let include { project.include = try strings(include) }
        if let exclude { project.exclude = try strings(exclude) }
        if let builder {
            guard let name = builder.value.string else {
                throw CNBError("\(file): \(builder.name) must be a string naming a builder (such as \"paketobuildpacks/builder-jammy-base\"), not \(Self.kind(builder.value))")
            }
            guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw CNBError("\(file): \(builder.name) is empty or has control characters: name a builder (such as \"paketobuildpacks/builder-jammy-base\")")
            }
            project.builder = name
        }
        return project
    }

    func buildpack(_ table: TOMLTable, context: String) throws -> CNBProject.Buildpack {
        let id = try string(table, "id", in: context).flatMap { $0.isEmpty ? nil : $0 }
        let version = try string(table, "version", in: context).flatMap { $0.isEmpty ? nil : $0 }
        let uri = try string(table, "uri", in: context).flatMap { $0.isEmpty ? nil : $0 }
        guard id != nil || uri != nil else {
            throw CNBError("\(file): \(context) has neither id nor uri: name the buildpack by id (and version) or give its uri")
        }
        if uri != nil, version != nil {
            throw CNBError("\(file): \(context) gives both uri and version, which the spec forbids: a uri names one version already; drop version, or name the buildpack by id and version")
        }
        if let id { try CNBBuildpackName.check(id: id, version: version, in: "\(file): \(context)") }
        let buildpack = CNBProject.Buildpack(id: id, version: version, uri: uri)
        do {
            _ = try buildpack.source
        } catch let error as CNBError {
            throw CNBError("\(file): \(context): \(error.message)")
        }
        return buildpack
    }

    func variable(_ table: TOMLTable, context: String) throws -> CNBProject.EnvVar {
        guard let name = try string(table, "name", in: context), !name.isEmpty else {
            throw CNBError("\(file): \(context) has no name: give each variable name = \"NAME\" and value = \"…\"")
        }
        guard CNBProject.EnvVar.isValidName(name) else {
            throw CNBError("\(file): \(context): \(CNBTOMLWriter.quoted(name)) is not an environment variable name: use letters, digits and underscores, not starting with a digit")
        }
        let value = try string(table, "value", in: context) ?? ""
        if value.unicodeScalars.contains("\0") { throw CNBError("\(file): \(context): the value of \(name) contains a NUL byte, which no environment variable can hold") }
        return CNBProject.EnvVar(name: name, value: value)
    }
}
