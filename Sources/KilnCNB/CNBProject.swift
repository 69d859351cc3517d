import Foundation
import TOMLKit
import Yams

/// Where a buildpack an app asks for comes from, as its `uri` (or its id)
/// says. The app's files are hostile input, so a uri is taken apart here,
/// once, and whatever fetches the buildpack gets only these shapes.
public enum CNBBuildpackSource: Sendable, Equatable {
    /// One of the farm's own buildpacks, by id (and version; `nil` is the newest the farm has):
    /// no uri, or `urn:cnb:registry:ID@VERSION`, `urn:cnb:builder:ID`, `urn:buildpack:ID`.
    case farm(id: String, version: String?)
    /// A directory (or archive) inside the app, relative to its root,
    /// normalized: `.` and empty components dropped (`./bp/` is `bp`; the root itself is `.`).
    case app(String)
    /// A buildpack archive to download (`.tgz`, `.tar.gz`, `.tar` over http or https).
    case tarball(URL)
    /// A git repository to clone, and the ref (branch, tag, commit) after `#`, if any.
    case git(URL, ref: String?)
    /// An OCI image reference (`docker://REF`, the reference without the scheme).
    case registry(String)

    /// The source `uri` (or, without one, `id` and `version`) names. A
    /// refusal says what is wrong with the uri and what to write instead;
    /// its message does not name the file (the caller prefixes that).
    static func resolve(id: String?, version: String?, uri: String?) throws -> CNBBuildpackSource {
        guard let uri, !uri.isEmpty else {
            guard let id, !id.isEmpty else { throw CNBError("a buildpack has neither id nor uri: name it by id (and version) or give its uri") }
            return .farm(id: id, version: version)
        }
        let shown = "uri \(CNBTOMLWriter.quoted(uri))"
        if uri.unicodeScalars.contains("\0") { throw CNBError("\(shown) contains a NUL byte: write the uri as plain text") }
        if uri.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw CNBError("\(shown) contains a control character: write the uri on one line, as plain text")
        }
        guard uri.utf8.count <= 4096 else { throw CNBError("uri of \(uri.utf8.count) bytes is longer than the 4096 Kiln reads: give a shorter uri") }
        guard let (scheme, rest) = Self.scheme(of: uri) else {
            return .app(try CNBRelativePath.normalize(uri, what: shown, advice: "give a path relative to the app's root"))
        }
        switch scheme {
        case "urn":
            return try farm(urn: rest, shown: shown)
        case "file":
            // A file URI names a path on the machine that reads it; Kiln reads only the app's own files.
            let path = rest.hasPrefix("//") ? String(rest.dropFirst(2)) : rest
            guard let decoded = path.removingPercentEncoding else { throw CNBError("\(shown) has a malformed %-escape: write the path as plain text") }
            if decoded.unicodeScalars.contains("\0") { throw CNBError("\(shown) contains a NUL byte (%00): write the path as plain text") }
            if decoded.hasPrefix("/") {
                throw CNBError("\(shown) points outside the app (an absolute path on the build machine): give a path relative to the app's root, or name the buildpack by id")
            }
            return .app(try CNBRelativePath.normalize(decoded, what: shown, advice: "give a path relative to the app's root"))
        case "http", "https":
            let url = try web(uri, shown: shown)
            let path = url.path.lowercased()
            if path.hasSuffix(".tgz") || path.hasSuffix(".tar.gz") || path.hasSuffix(".tar") { return .tarball(url) }
            if path.hasSuffix(".git") { return try git(url, shown: shown) }
            throw CNBError("\(shown) names neither a buildpack archive (a path ending .tgz, .tar.gz or .tar) nor a git repository (ending .git, or git+https://…): point it at one of those")
        case "git+https", "git+http":
            return try git(web(String(uri.dropFirst("git+".count)), shown: shown), shown: shown)
        case "docker":
            guard rest.hasPrefix("//") else { throw CNBError("\(shown) is not docker://IMAGE: write the image reference after docker://") }
            let reference = String(rest.dropFirst(2))
            // Image references as OCI spells them; anything else (a leading '-' above all) could reach a tool's command line.
            let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
            guard !reference.isEmpty, reference.unicodeScalars.allSatisfy(allowed.contains),
                  let first = reference.unicodeScalars.first, CharacterSet.alphanumerics.contains(first) else {
                throw CNBError("\(shown) is not docker://IMAGE with an image reference such as docker://gcr.io/paketo-buildpacks/java:1.0")
            }
            return .registry(reference)
        default:
            throw CNBError("\(shown) uses the scheme \(scheme):, which Kiln does not fetch buildpacks by: give a path in the app, an https URL of a .tgz or a git repository, docker://IMAGE, or name the buildpack by id")
        }
    }

    /// The scheme (lowercased) and what follows its colon, when `uri` has one (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
    static func scheme(of uri: String) -> (String, String)? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let scheme = uri[..<colon]
        guard let first = scheme.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first),
              scheme.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0)) }) else { return nil }
        return (scheme.lowercased(), String(uri[uri.index(after: colon)...]))
    }

    static func farm(urn: String, shown: String) throws -> CNBBuildpackSource {
        let reference: Substring
        if urn.hasPrefix("cnb:registry:") { reference = urn.dropFirst("cnb:registry:".count) }
        else if urn.hasPrefix("cnb:builder:") { reference = urn.dropFirst("cnb:builder:".count) }
        else if urn.hasPrefix("buildpack:") { reference = urn.dropFirst("buildpack:".count) }
        else { throw CNBError("\(shown) is not urn:cnb:registry:ID@VERSION, urn:cnb:builder:ID or urn:buildpack:ID: write one of those, or name the buildpack by id") }
        let (id, version) = CNBBuildpackName.split(String(reference))
        try CNBBuildpackName.check(id: id, version: version, in: shown)
        return .farm(id: id, version: version)
    }

    static func web(_ text: String, shown: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else {
            throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH")
        }
        return url
    }

    static func git(_ url: URL, shown: String) throws -> CNBBuildpackSource {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH") }
        let ref = components.fragment.flatMap { $0.isEmpty ? nil : $0 }
        components.fragment = nil
        if let ref {
            // What git itself refuses in a ref name, and a leading '-' that git would take for an option.
            guard !ref.hasPrefix("-"), !ref.contains(".."), !ref.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || "~^:?*[\\".unicodeScalars.contains($0) }) else {
                throw CNBError("\(shown) has #\(ref), which is not a git ref: after # give a branch, tag or commit")
            }
        }
        guard let bare = components.url else { throw CNBError("\(shown) is not a URL Kiln can fetch: write https://HOST/PATH") }
        return .git(bare, ref: ref)
    }
}

/// Paths an app gives for its own files (a buildpack directory, where the
/// code is): relative, inside the app, and written one way.
enum CNBRelativePath {
    /// `path` with `.` and empty components dropped (`.` for the root);
    /// absolute paths, `..` and NUL refused, `what` naming it.
    static func normalize(_ path: String, what: String, advice: String) throws -> String {
        if path.unicodeScalars.contains("\0") { throw CNBError("\(what) contains a NUL byte: \(advice)") }
        if path.hasPrefix("/") { throw CNBError("\(what) is an absolute path, which points outside the app: \(advice)") }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if components.contains("..") { throw CNBError("\(what) has a .. component, which could point outside the app: \(advice)") }
        return components.isEmpty ? "." : components.joined(separator: "/")
    }
}

/// Buildpack ids and versions as the apps' files give them. They become
/// directory names in the farm's buildpack store, so what could climb out
/// of it, or reach a command line as an option, is refused.
enum CNBBuildpackName {
    /// `id@version`, or `id` alone (version `nil`).
    static func split(_ reference: String) -> (String, String?) {
        guard let at = reference.firstIndex(of: "@") else { return (reference, nil) }
        return (String(reference[..<at]), String(reference[reference.index(after: at)...]))
    }

    static func check(id: String, version: String?, in what: String) throws {
        // The Buildpack spec's ids are letters, digits, '.', '/' and '-'; '_' is let through too.
        let idCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard !id.isEmpty, id.utf8.count <= 256, id.unicodeScalars.allSatisfy(idCharacters.contains),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !id.hasPrefix("-") else {
            throw CNBError("\(what): \(CNBTOMLWriter.quoted(id)) is not a buildpack id: use letters, digits, '.', '-', '_' and '/' between names (e.g. paketo-buildpacks/nodejs)")
        }
        if let version {
            guard !version.isEmpty, version.utf8.count <= 128, version != ".", version != "..", !version.hasPrefix("-"),
                  !version.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0 == "/" }) else {
                throw CNBError("\(what): \(CNBTOMLWriter.quoted(version)) is not a buildpack version: write it as the buildpack does (e.g. 1.2.3), without spaces or '/'")
            }
        }
    }
}

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
